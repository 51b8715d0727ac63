"""Kernel-size, pooling-window and output-stage refusals, and where a refused layer inside a skip
connection sends the connection: small hand-written models whose expected messages and
sequences follow from the rules of nsoc/hardware/mapping/rules.py (their docstrings give the
evidence)."""
import pytest

from nsoc.errors import MappingError
from nsoc.hardware.mapping import map_model
from nsoc.testing import random_v1_model, random_v2_model


def _error(model, device) -> str:
    with pytest.raises(MappingError) as exc:
        map_model(model, device, hw_only=True)
    return str(exc.value)


def _runs(model, device):
    return [(s.backend, s.layers) for s in map_model(model, device).sequences]


# ----- kernel sizes ---------------------------------------------------------------------------
def _v1(mid: dict, kind="conv"):
    return random_v1_model([("input_conv", {"filters": 8}), (kind, {"filters": 8, **mid}),
                            ("conv", {"filters": 8}), ("dense", {"units": 2})], (16, 16, 1),
                           seed=2)


def test_v1_kernel_sizes_with_the_weight_width():
    # Convolutional 1, 3, 5 or 7; SeparableConvolutional 3, 5 or 7
    assert _error(_v1({"kernel_size": 9}), "AKD1000") == \
        "Cannot map layer 'conv_1'. Kernel size must be 1, 3, 5 or 7."
    assert _error(_v1({"kernel_size": 1}, "sep"), "AKD1500") == \
        "Cannot map layer 'sep_1'. Kernel size must be 3, 5 or 7."
    # reported together with the weight width, after the window group
    assert _error(_v1({"kernel_size": 9, "weight_bits": 8}), "TwoNodesIPv1") == (
        "Cannot map layer 'conv_1'. Kernel size must be 1, 3, 5 or 7. Standard CNP weights "
        "bitwidth must be 1, 2 or 4.")
    assert _error(_v1({"kernel_size": 9, "padding": "valid"}), "AKD1000") == \
        "Cannot map layer 'conv_1'. Only padding same is supported."
    # 1x1 Convolutional and 5x5 / 7x7 separable ones map; without hw_only a 9x9 runs in software
    for mid, kind in (({"kernel_size": 1}, "conv"), ({"kernel_size": 7}, "sep")):
        assert map_model(_v1(mid, kind), "AKD1000", hw_only=True).n_software_sequences == 0
    assert _runs(_v1({"kernel_size": 9}), "AKD1000") == [
        ("Hardware", ["input_conv_0"]), ("Software", ["conv_1"]),
        ("Hardware", ["conv_2", "dense_3"])]


def _v2(blocks, shape=(12, 12, 8)):
    return random_v2_model(blocks, shape, seed=3)


def _v2_mid(kind="conv", shape=(12, 12, 8), **mid):
    opt = {"filters": 8} if kind == "conv" else {}
    return _v2([("conv", {"filters": 8, "kernel_size": 1}), (kind, {**opt, **mid}),
                ("conv", {"filters": 8, "kernel_size": 1}), ("dense", {"units": 2})], shape)


def test_v2_kernel_sizes_in_the_layer_group():
    assert _error(_v2_mid(kernel_size=9), "TwoNodesIPv2") == \
        "Cannot map layer 'conv_1'. Kernel size must be 1, 3, 5 or 7."
    assert _error(_v2_mid("dw", kernel_size=1), "FourNodesIPv2") == \
        "Cannot map layer 'dw_1'. Kernel size must be 3, 5 or 7."
    # after the window messages, before the output stage's
    assert _error(_v2_mid(kernel_size=9, pool="max", pool_size=3, pool_stride=3),
                  "TwoNodesIPv2") == ("Cannot map layer 'conv_1'. Pooling size must be 1 or "
                                      "2. Kernel size must be 1, 3, 5 or 7.")
    assert _error(_v2_mid(kernel_size=9, output_bits=2), "TwoNodesIPv2") == (
        "Cannot map layer 'conv_1'. Kernel size must be 1, 3, 5 or 7. With activation output "
        "bitwidth should be 4 or 8.")
    assert map_model(_v2_mid("dw", kernel_size=7), "TwoNodesIPv2",
                     hw_only=True).n_software_sequences == 0


# ----- max pooling wider than the input -------------------------------------------------------
def test_v2_pooling_window_wider_than_the_input():
    def pooled(shape, size):
        return _v2_mid(shape=shape, kernel_size=1, pool="max", pool_size=size, pool_stride=size)
    assert _error(pooled((1, 4, 8), 2), "TwoNodesIPv2") == \
        "Cannot map layer 'conv_1'. Pooling size cannot be greater than input dimensions."
    assert _error(pooled((8, 2, 8), 3), "TwoNodesIPv2") == (
        "Cannot map layer 'conv_1'. Pooling size must be 1 or 2. Pooling size cannot be "
        "greater than input dimensions.")
    # a 3-wide window on a 3 x 3 input is refused for its size alone
    assert _error(pooled((3, 3, 8), 3), "TwoNodesIPv2") == \
        "Cannot map layer 'conv_1'. Pooling size must be 1 or 2."
    assert [b for b, _ in _runs(pooled((1, 4, 8), 2), "TwoNodesIPv2")] == \
        ["Hardware", "Software", "Hardware"]


# ----- output stages --------------------------------------------------------------------------
def test_v2_cnp_output_stage():
    assert _error(_v2_mid(output_bits=16), "TwoNodesIPv2") == (
        "Cannot map layer 'conv_1'. With activation output bitwidth should be <= 8. With "
        "activation output bitwidth should be 4 or 8.")
    assert _error(_v2_mid("dw", relu=False, output_bits=4), "TwoNodesIPv2") == \
        "Cannot map layer 'dw_1'. Without activation output bitwidth should be 8 or 28."
    # 8-bit potentials: not with 4-bit Conv2D weights, last in the group
    assert _error(_v2_mid(relu=False, output_bits=8), "TwoNodesIPv2") == \
        "Cannot map layer 'conv_1'. 4-bit weights and 8-bit potential is not allowed."
    assert _error(_v2_mid(relu=False, output_bits=8, pool="max", pool_size=3, pool_stride=3),
                  "TwoNodesIPv2") == ("Cannot map layer 'conv_1'. Pooling size must be 1 or 2. "
                                      "4-bit weights and 8-bit potential is not allowed.")
    # a depthwise layer takes them, so does a Conv2D with 8-bit weights (on 8-bit inputs)
    wide = _v2([("conv", {"filters": 8, "kernel_size": 1, "output_bits": 8}),
                ("conv", {"filters": 8, "relu": False, "output_bits": 8, "weight_bits": 8}),
                ("conv", {"filters": 8, "kernel_size": 1}), ("dense", {"units": 2})])
    for model in (_v2_mid("dw", relu=False, output_bits=8), wide):
        assert map_model(model, "TwoNodesIPv2", hw_only=True).n_software_sequences == 0


def test_v2_dense_output_bits():
    def dense(**opt):
        return _v2([("conv", {"filters": 8, "kernel_size": 1}), ("dense", {"units": 8, **opt}),
                    ("dense", {"units": 2})], (4, 4, 8))
    assert _error(dense(relu=False, output_bits=4), "TwoNodesIPv2") == \
        "Cannot map layer 'dense_1'. Without activation output bitwidth should be 8, 28 or 32."
    assert _error(dense(relu=False, output_bits=2), "TwoNodesIPv2") == (
        "Cannot map layer 'dense_1'. Output bits should be 4, 8 or > 8. Without activation "
        "output bitwidth should be 8, 28 or 32.")
    assert _error(dense(output_bits=16), "TwoNodesIPv2") == \
        "Cannot map layer 'dense_1'. With activation output bitwidth should be 4 or 8."
    assert _error(dense(relu=False, output_bits=8), "TwoNodesIPv2") == \
        "Cannot map layer 'dense_1'. With 4-bit weights, output must be 4-bit or 32-bit."


# ----- a refused layer inside a skip connection -----------------------------------------------
def _skip(**refused):
    """pre -> split -> a -> b -> Concatenate(split, b) -> reader -> post -> dense; the layer
    named in ``refused`` gets a 9x9 kernel (refused)."""
    names = ("pre", "split", "a", "b")
    blocks = [("conv", {"filters": 8, "kernel_size": 9 if refused.get(n) else 1, "name": n})
              for n in names]
    blocks += [("concat", {"with_block": 3, "name": "cat"}),
               ("conv", {"filters": 8, "kernel_size": 9 if refused.get("reader") else 1,
                         "name": "reader"}),
               ("conv", {"filters": 8, "kernel_size": 1, "name": "post"}),
               ("dense", {"units": 2, "name": "fc"})]
    return _v2(blocks)


def test_a_refused_layer_takes_its_skip_connection_to_software():
    block = ["split", "a", "b", "cat", "reader"]
    for where in ("split", "a", "b", "reader"):
        assert _runs(_skip(**{where: True}), "TwoNodesIPv2") == [
            ("Hardware", ["input_quantizer", "pre"]), ("Software", block),
            ("Hardware", ["post", "fc", "dequantizer"])], where
    # a refused layer before the split leaves the connection on hardware
    assert [b for b, _ in _runs(_skip(pre=True), "TwoNodesIPv2")] == ["Software", "Hardware"]
    assert _runs(_skip(), "TwoNodesIPv2")[0][0] == "Hardware"


# ----- Akida 1.0 kernel shapes and the input convolution -------------------------------------
def test_v1_non_square_kernels_are_refused_first():
    # kernel_size (height, width)
    assert _error(_v1({"kernel_size": (1, 5)}), "AKD1000") == \
        "Cannot map layer 'conv_1'. Kernel width and height must be equal."
    # Akida reads the width for the stride rule: 3 high x 5 wide is also told about stride 2
    assert _error(_v1({"kernel_size": (3, 5), "stride": 2}), "AKD1500") == (
        "Cannot map layer 'conv_1'. Kernel width and height must be equal. Convolution stride 2 "
        "is only supported for 3x3 kernels.")
    assert _error(_v1({"kernel_size": (5, 3), "stride": 2}), "AKD1500") == \
        "Cannot map layer 'conv_1'. Kernel width and height must be equal."
    assert _error(_v1({"kernel_size": (1, 3), "pool": "max", "pool_size": 4}, "sep"),
                  "TwoNodesIPv1") == ("Cannot map layer 'sep_1'. Kernel width and height must "
                                      "be equal. Pooling size must be 1, 2 or 3.")
    assert _runs(_v1({"kernel_size": (1, 5)}), "AKD1000")[1] == ("Software", ["conv_1"])


def _hrc(shape, blocks_after=(("conv", {"filters": 8}), ("dense", {"units": 2})), **opt):
    return random_v1_model([("input_conv", {"filters": 8, **opt}), *blocks_after], shape,
                           seed=2)


def test_v1_input_convolution_kernel_and_size():
    assert _error(_hrc((16, 16, 1), kernel_size=(3, 1)), "AKD1000") == (
        "Cannot map layer 'input_conv_0'. Kernel size should be symmetric. Kernel size should "
        "be 3, 5 or 7.")
    assert _error(_hrc((16, 16, 1), kernel_size=(1, 3)), "AKD1000") == \
        "Cannot map layer 'input_conv_0'. Kernel size should be symmetric."
    assert _error(_hrc((3, 16, 1), kernel_size=1), "AKD1500") == (
        "Cannot map layer 'input_conv_0'. Kernel size should be 3, 5 or 7. Input first "
        "dimension size cannot be smaller than 5.")
    assert _error(_hrc((6, 3, 1), kernel_size=7), "AKD1000") == (
        "Cannot map layer 'input_conv_0'. Input second dimension size cannot be smaller than 5. "
        "Input first dimension size cannot be smaller than kernel size.")
    # a 7x7 kernel maps on 7 columns; without hw_only a refused one runs in software
    assert map_model(_hrc((7, 5, 1), kernel_size=7), "AKD1000",
                     hw_only=True).n_software_sequences == 0
    assert _runs(_hrc((16, 16, 1), kernel_size=1), "AKD1000") == [
        ("Software", ["input_conv_0"]), ("Hardware", ["conv_1", "dense_2"])]


def test_v1_input_convolution_filters_by_kernel_and_channels():
    after = (("dense", {"units": 2}),)
    # (kernel, channels): most filters
    for (k, c), most in {(3, 1): 512, (3, 3): 192, (5, 1): 192, (5, 3): 64, (7, 1): 96,
                         (7, 3): 32}.items():
        ok = _hrc((8, 8, c), after, kernel_size=k, filters=most)
        assert map_model(ok, "TwoNodesIPv1", hw_only=True).n_software_sequences == 0
        assert _error(_hrc((16, 16, c), kernel_size=k, filters=most + 1), "AKD1000") == (
            f"Cannot map layer 'input_conv_0'. The parameter num_neurons should be set between "
            f"1 and {most}.")
    # no filter limit for a kernel width it refuses
    assert _error(_hrc((16, 16, 1), kernel_size=1, filters=600), "AKD1000") == \
        "Cannot map layer 'input_conv_0'. Kernel size should be 3, 5 or 7."


def test_v1_input_convolution_pooling_and_activation():
    assert _error(_hrc((16, 16, 1), pool="max", pool_size=3), "AKD1500") == (
        "Cannot map layer 'input_conv_0'. The parameter pooling_y should be 1 or 2. The "
        "parameter pooling_x should be 1 or 2.")
    assert _error(_hrc((16, 3, 1), (), pool="gap"), "AKD1000") == (
        "Cannot map layer 'input_conv_0'. Input second dimension size cannot be smaller than 5. "
        "The parameter pool_type cannot be Average. The first convolutional layer of a model can "
        "only be mapped if its activations are enabled.")
    assert map_model(_hrc((16, 16, 1), pool="max"), "AKD1000",
                     hw_only=True).n_software_sequences == 0


def test_v2_input_convolution_smallest_input():
    def model(shape, **opt):
        return _v2([("input_conv", {"filters": 8, **opt}), ("conv", {"filters": 8}),
                    ("dense", {"units": 2})], shape)
    assert _error(model((4, 16, 1), kernel_size=5), "TwoNodesIPv2") == (
        "Cannot map layer 'input_conv_0'. Unsupported input size. Received: 4 as first "
        "dimension.\n The first dimension should be >= 5.")
    assert _error(model((16, 3, 1)), "TwoNodesIPv2") == (
        "Cannot map layer 'input_conv_0'. Unsupported input size. Received: 3 as second "
        "dimension.\n The second dimension should be between 5 and 384.")
    # no kernel-width limit on v2: a 7x7 kernel maps on 6 columns
    assert map_model(model((6, 16, 1), kernel_size=7), "TwoNodesIPv2",
                     hw_only=True).n_software_sequences == 0


def test_at_most_2048_filters_a_cnp_layer():
    v2 = _v2([("conv", {"filters": 2049, "kernel_size": 1}), ("conv", {"filters": 8}),
              ("dense", {"units": 2})], (4, 4, 8))
    assert _error(v2, "TwelveNodesIPv2") == \
        "Cannot map layer 'conv_0'. The maximum number of filters is 2048 (got 2049)."
    # v1: first of the window group; the kernel-size group is not reached
    v1 = random_v1_model([("input_conv", {"filters": 8}),
                          ("conv", {"filters": 4096, "kernel_size": 1, "pool": "gap"}),
                          ("dense", {"units": 2})], (40, 8, 1), seed=2)
    assert _error(v1, "AKD1500") == (
        "Cannot map layer 'conv_1'. The maximum number of filters is 2048 (got 4096). With "
        "average pooling, input height cannot exceed 32.")
    assert _error(_v1({"filters": 4096, "kernel_size": 9}), "AKD1500") == \
        "Cannot map layer 'conv_1'. The maximum number of filters is 2048 (got 4096)."


def test_v2_input_convolution_pooling_weights_and_message_order():
    def model(shape=(32, 32, 3), **opt):
        return _v2([("input_conv", {"filters": 8, **opt}), ("conv", {"filters": 8, "stride": 2}),
                    ("conv", {"filters": 8, "stride": 2}), ("dense", {"units": 2})], shape)
    pool33 = ("Unsupported max-pooling size, max-pooling stride combinaison. The only supported "
              "combinaison of (Pool_size, Pool_stride) are :(2, 2) or (3, 2). Received (3, 3).")
    assert _error(model(pool="max", pool_size=3, pool_stride=3), "TwoNodesIPv2") == \
        f"Cannot map layer 'input_conv_0'. {pool33}"
    assert _error(model(weight_bits=4), "TwoNodesIPv2") == \
        "Cannot map layer 'input_conv_0'. Only 8-bit weigths are supported."
    # one group: kernel, pooling, input size, output bits, filters, weights
    assert _error(model((3, 32, 3), kernel_size=1, filters=600, weight_bits=4, output_bits=2,
                        pool="max", pool_size=3, pool_stride=3), "TwoNodesIPv2") == (
        "Cannot map layer 'input_conv_0'. Unsupported kernel size.\n The kernel size should be "
        f"3, 4, 5 or 7. 1 given. {pool33} Unsupported input size. Received: 3 as first "
        "dimension.\n The first dimension should be >= 5. Output should be 4-bit or 8-bit. 2 "
        "given. The filters number should be set between 1 and 512. 600 given. Only 8-bit "
        "weigths are supported.")
    for ok in ({"pool": "max"}, {"pool": "max", "pool_size": 3, "pool_stride": 2},
               {"stride": 3}, {"padding": "valid", "output_bits": 8}):
        assert map_model(model(**ok), "TwoNodesIPv2").n_software_sequences == 0, ok
    assert _runs(model(weight_bits=4), "TwoNodesIPv2")[0] == \
        ("Software", ["input_quantizer", "input_conv_0"])


def test_v2_dense_fan_in_before_its_input_shifts():
    def model(**dense):
        return _v2([("conv", {"filters": 8, "kernel_size": 1}), ("dense", {"units": 2, **dense})],
                   (30, 30, 8))
    # 7200 inputs (> 2048) whose shifts (2700 B > 768) would need a sequence of their own
    too_many = "Input dimensions are too large to fit in a FNP. The maximum value is 2048."
    assert _error(model(), "TwoNodesIPv2") == f"Cannot map layer 'dense_1'. {too_many}"
    assert _error(model(weight_bits=8), "TwoNodesIPv2") == (
        f"Cannot map layer 'dense_1'. {too_many} Input bits should be >= weights bits.")
    assert _runs(model(), "TwoNodesIPv2")[1] == ("Software", ["dense_1", "dequantizer"])


def test_v2_input_convolution_needs_an_activation():
    def model(**opt):
        return _v2([("input_conv", {"filters": 8, "relu": False, **opt}),
                    ("conv", {"filters": 8, "stride": 2}), ("dense", {"units": 2})],
                   (16, 16, 3))
    enabled = ("The first convolutional layer of a model can only be mapped if its activations "
               "are enabled.")
    assert _error(model(output_bits=8), "TwoNodesIPv2") == \
        f"Cannot map layer 'input_conv_0'. {enabled}"
    # without an activation the output width is not checked; before the weight width
    assert _error(model(output_bits=2), "TwoNodesIPv2") == \
        f"Cannot map layer 'input_conv_0'. {enabled}"
    assert _error(model(output_bits=8, weight_bits=4), "TwoNodesIPv2") == \
        f"Cannot map layer 'input_conv_0'. {enabled} Only 8-bit weigths are supported."
    assert _runs(model(output_bits=8), "TwoNodesIPv2")[0] == \
        ("Software", ["input_quantizer", "input_conv_0"])


def test_v2_outputs_above_8_bits_in_the_window_group():
    def pooled(shape=(8, 8, 8), **opt):
        return _v2([("conv", {"filters": 8, "kernel_size": 1}),
                    ("conv", {"filters": 8, "pool": "gap", **opt}), ("dense", {"units": 2})],
                   shape)
    assert _error(pooled(output_bits=16), "TwoNodesIPv2") == (
        "Cannot map layer 'conv_1'. With activation output bitwidth should be <= 8. With "
        "average pooling output bitwidth should be <= 8. With activation output bitwidth should "
        "be 4 or 8.")
    assert _error(pooled((20, 20, 8), relu=False, output_bits=28), "TwoNodesIPv2") == (
        "Cannot map layer 'conv_1'. With average pooling output bitwidth should be <= 8. When "
        "using Global Average Pooling, input dimensions width * height cannot exceed 144.")
    assert _error(pooled((12, 12, 8), relu=False, output_bits=28, kernel_size=9,
                         padding="valid"), "TwoNodesIPv2") == (
        "Cannot map layer 'conv_1'. Only padding 'Same' and 'SameUpper' are supported. With "
        "average pooling output bitwidth should be <= 8. Kernel size must be 1, 3, 5 or 7.")


def test_chained_skip_connections_go_to_software_together():
    """pre -> a -> b -> add1 = Add(pre, b) -> c -> d -> add2 = Add(add1, d) -> e -> f -> dense:
    the connections (pre to c, add1 to e) overlap; a refused layer in either takes both."""
    def model(refused):
        blocks = []
        for n in ("pre", "a", "b", "add1", "c", "d", "add2", "e", "f"):
            blocks.append(("add", {"name": n, "with_block": 3}) if n.startswith("add") else
                          ("conv", {"filters": 8, "kernel_size": 9 if n == refused else 1,
                                    "name": n, "output_bits": 8}))
        return random_v2_model(blocks + [("dense", {"units": 2, "name": "fc"})], (12, 12, 8),
                               seed=3, act_bits=8, weight_bits=8)
    both = ["input_quantizer", "pre", "a", "b", "add1", "c", "d", "add2", "e"]
    for refused in ("b", "d", "e"):
        assert _runs(model(refused), "TwoNodesIPv2") == [
            ("Software", both), ("Hardware", ["f", "fc", "dequantizer"])], refused
    # after the last reader: only the refused layer
    assert _runs(model("f"), "TwoNodesIPv2") == [
        ("Hardware", both), ("Software", ["f"]), ("Hardware", ["fc", "dequantizer"])]


# ----- a max-pooled layer before a refused one -----------------------------------------------
def test_pooled_layers_before_a_refused_layer_go_with_it():
    v1 = random_v1_model([("input_conv", {"filters": 8}), ("conv", {"filters": 8, "pool": "max"}),
                          ("conv", {"filters": 8, "pool": "max"}),
                          ("conv", {"filters": 8, "kernel_size": 9}), ("conv", {"filters": 8}),
                          ("dense", {"units": 2})], (32, 32, 1), seed=2)
    who = "A convolutional or separable convolutional layer with max pooling"
    assert _error(v1, "AKD1500") == (
        f"Cannot map layer 'conv_1':\n  * Layer 'conv_1': {who} cannot be the last layer of a "
        f"sequence.\n  * Layer 'conv_2': {who} cannot be the last layer of a sequence.\n  * "
        f"Layer 'conv_3': Kernel size must be 1, 3, 5 or 7.")
    assert _runs(v1, "AKD1500") == [("Hardware", ["input_conv_0"]),
                                    ("Software", ["conv_1", "conv_2", "conv_3"]),
                                    ("Hardware", ["conv_4", "dense_5"])]
    # Akida 2.0: a pooled input convolution too (not on 1.0), and before a dense layer
    v2 = _v2([("input_conv", {"filters": 8, "pool": "max"}),
              ("conv", {"filters": 8, "kernel_size": 9}), ("conv", {"filters": 8}),
              ("dense", {"units": 2})], (32, 32, 3))
    assert _error(v2, "TwoNodesIPv2") == (
        "Cannot map layer 'input_conv_0':\n  * Layer 'input_conv_0': A layer with max pooling "
        "cannot be the last layer of a sequence.\n  * Layer 'conv_1': Kernel size must be 1, 3, "
        "5 or 7.")
    assert _runs(v2, "TwoNodesIPv2")[0] == \
        ("Software", ["input_quantizer", "input_conv_0", "conv_1"])
    two = _v2([("conv", {"filters": 8, "kernel_size": 1}), ("conv", {"filters": 8, "pool": "max"}),
               ("conv", {"filters": 8, "pool": "max"}), ("dense", {"units": 2})], (16, 16, 8))
    assert _error(two, "TwoNodesIPv2") == (
        "Cannot map layer 'conv_1':\n  * Layer 'conv_1': A layer with max pooling cannot be the "
        "last layer of a sequence.\n  * Layer 'conv_2': A layer with max pooling cannot be the "
        "last layer of a sequence.\n  * Layer 'dense_3': Any layer with max pooling must be "
        "followed by a layer mapped on a CNP or a TNP-B. Layer 'conv_2' has max pooling.")
    v1_hrc = random_v1_model([("input_conv", {"filters": 8, "pool": "max"}),
                              ("conv", {"filters": 8, "kernel_size": 9}), ("conv", {"filters": 8}),
                              ("dense", {"units": 2})], (32, 32, 1), seed=2)
    assert _error(v1_hrc, "AKD1500") == \
        "Cannot map layer 'conv_1'. Kernel size must be 1, 3, 5 or 7."


def test_pooled_layer_before_a_refused_dense_layer_names_its_refusal():
    # a 12 x 6 x 32 pooled output: 2304 inputs, more than a Dense1D takes
    m = _v2([("conv", {"filters": 8, "kernel_size": 1}),
             ("conv", {"filters": 32, "pool": "max"}), ("dense", {"units": 2})], (24, 12, 8))
    assert _error(m, "FourNodesIPv2") == (
        "Cannot map layer 'conv_1':\n  * Layer 'conv_1': A layer with max pooling cannot be the "
        "last layer of a sequence.\n  * Layer 'dense_2': Input dimensions are too large to fit "
        "in a FNP. The maximum value is 2048.")


def test_v1_fully_connected_inputs_on_akd1000():
    def model(shape, filters):
        return random_v1_model([("input_conv", {"filters": filters}), ("dense", {"units": 2})],
                               shape, seed=2)
    # 57600 inputs: over AKD1000's 57334, within the 81920 of the other v1 devices
    assert _error(model((12, 10, 1), 480), "AKD1000") == (
        "Cannot map layer 'dense_1'. Input dimensions are too large to fit in a FNP. The maximum "
        "value is 57334.")
    assert map_model(model((12, 10, 1), 480), "AKD1500", hw_only=True).n_software_sequences == 0
    assert map_model(model((10, 10, 1), 500), "AKD1000", hw_only=True).n_software_sequences == 0


def test_v2_global_pooling_input_must_fit_one_cnp():
    def model(channels, kind="conv"):
        pooled = ("conv", {"filters": 8, "kernel_size": 1, "pool": "gap"}) if kind == "conv" \
            else ("dw", {"pool": "gap"})
        return _v2([("conv", {"filters": channels, "kernel_size": 1}), pooled,
                    ("dense", {"units": 2})], (12, 12, 8))
    # 12 x 12 4-bit inputs: 8 B a row (32-bit aligned) x 12 rows x channels; 65536 B of SRAM
    assert map_model(model(680), "TwelveNodesIPv2", hw_only=True).n_software_sequences == 0
    for kind, name in (("conv", "conv_1"), ("dw", "dw_1")):
        assert _error(model(704, kind), "TwelveNodesIPv2") == (
            f"Cannot map layer '{name}'. When using Global Average Pooling, spatial split is "
            f"impossible.")


def test_a_sequence_cut_after_a_pooled_layer_sends_it_to_software():
    # conv_2 is refused (3-wide pooling); conv_3 (7x7, 128 filters on 24 x 24 x 128, pooled)
    # fills FourNodesIPv2 so that conv_4 starts a new sequence: conv_3 would end one, so it
    # runs in software with conv_2
    m = _v2([("input_conv", {"filters": 32}), ("conv", {"filters": 32, "kernel_size": 7}),
             ("conv", {"filters": 128, "kernel_size": 1, "pool": "max", "pool_size": 3,
                       "pool_stride": 2}),
             ("conv", {"filters": 128, "kernel_size": 7, "pool": "max"}),
             ("conv", {"filters": 16, "kernel_size": 1}), ("conv", {"filters": 8}),
             ("dense", {"units": 100})], (48, 48, 1))
    assert _runs(m, "FourNodesIPv2") == [
        ("Hardware", ["input_quantizer", "input_conv_0", "conv_1"]),
        ("Software", ["conv_2", "conv_3"]),
        ("Hardware", ["conv_4", "conv_5", "dense_6", "dequantizer"])]

"""Normalised layer geometry (kernel, stride, padding, pool, HW_KIND) and nsoc.geometry."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsoc import geometry as G
from nsoc.engine import PREPARERS
from nsoc.layers import HW_KINDS, LAYER_TYPES, Layer, WindowLayer
from nsoc.testing import random_v1_model, random_v2_model


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 64), st.integers(1, 15), st.integers(1, 4), st.booleans())
def test_window_size_matches_enumerated_windows(size, kernel, stride, same):
    """Output length and leading padding equal TensorFlow's window enumeration."""
    if not same and kernel > size:
        assert G.conv_output_size(size, kernel, stride, same) <= 0
        return
    out, pad = G.axis_geometry(size, kernel, stride, same)
    if same:
        total = max((out - 1) * stride + kernel - size, 0)
        assert out == len(range(0, size, stride))          # ceil(size / stride)
        assert pad == total // 2 and total - pad >= pad    # extra padding goes after
        starts = [i * stride - pad for i in range(out)]
        assert starts[0] + kernel > 0 and starts[-1] < size   # every window touches data
    else:
        assert pad == 0
        assert out == len([s for s in range(0, size, stride) if s + kernel <= size])


@pytest.mark.parametrize("bits", [1, 2, 4, 8, 16, 32])
def test_int_ranges_at_the_edges(bits):
    lo, hi = G.int_range(bits, True)
    assert (lo, hi) == (int(-(2 ** (bits - 1))), int(2 ** (bits - 1) - 1))
    assert G.int_range(bits, False) == (0, 2 ** bits - 1)
    assert G.max_abs(bits, True) == 2 ** (bits - 1)
    if bits in (8, 16, 32):
        info = np.iinfo(f"int{bits}")
        assert (lo, hi) == (info.min, info.max)


def test_every_layer_type_declares_a_kind_and_a_preparer():
    assert set(PREPARERS) == set(LAYER_TYPES)
    for cls in LAYER_TYPES.values():
        assert cls.HW_KIND in HW_KINDS, cls
    assert {c.HW_KIND for c in LAYER_TYPES.values()} == set(HW_KINDS)


def _check_geometry(model):
    for lay in model.layers:
        if isinstance(lay, WindowLayer):
            assert len(lay.kernel) == 2 and len(lay.stride) == 2
            assert lay.padding in (G.SAME, G.VALID)
            assert lay.pool.type in G.POOL_TYPES
            xy = G.conv_pool_output_xy(lay.input_dims[:2], lay.kernel, lay.stride, lay.padding,
                                       lay.pool)
            assert tuple(lay.output_dims[:2]) == xy
            assert lay.HW_KIND in ("hrc", "cnp_conv", "cnp_depthwise", "cnp_separable")
        else:
            assert lay.kernel is None and lay.stride is None and lay.padding is None
            assert lay.pool == G.NO_POOL
            assert lay.HW_KIND in ("none", "fnp", "skip")


V2 = [("input_conv", dict(filters=6, kernel_size=5, stride=2, padding="valid", pool="max",
                          pool_size=3, pool_stride=1)),
      ("conv", dict(filters=8, kernel_size=3, pool="max")),
      ("dw", dict(kernel_size=3, stride=2)),
      ("conv", dict(filters=8, kernel_size=1, pool="gap")),
      ("dense", dict(units=5))]
V1 = [("input_conv", dict(filters=8, kernel_size=3, pool="max")),
      ("conv", dict(filters=12, kernel_size=3, stride=2, padding="valid")),
      ("sep", dict(filters=10, kernel_size=3, pool="gap")),
      ("dense", dict(units=7))]


def test_random_models_expose_consistent_geometry():
    v2 = random_v2_model(V2, (23, 21, 3))
    v1 = random_v1_model(V1, (19, 17, 1))
    _check_geometry(v2)
    _check_geometry(v1)
    assert [lay.HW_KIND for lay in v2.layers] == ["none", "hrc", "cnp_conv", "cnp_depthwise",
                                                  "cnp_conv", "fnp", "none"]
    assert [lay.HW_KIND for lay in v1.layers] == ["hrc", "cnp_conv", "cnp_separable", "fnp"]
    assert v2.layers[1].pool == G.Pool("max", (3, 3), (1, 1))
    assert v1.layers[2].pool == G.Pool("avg")


def test_v1_and_v2_spell_the_same_geometry_alike():
    from nsoc.layers import Conv2D, Convolutional, make_layer
    v2 = Conv2D("a", {"kernel_size": 3, "kernel_stride": 2, "padding": 0, "filters": 4,
                      "pool_type": 1, "pool_size": 2, "pool_stride": 2})
    v1 = Convolutional("b", {"kernel_width": 3, "kernel_height": 3, "stride_x": 2,
                             "stride_y": 2, "padding": 0, "filters": 4, "pool_type": 1,
                             "pooling_width": 2, "pooling_height": 2, "pooling_stride_x": 2,
                             "pooling_stride_y": 2})
    for a, b in [(v2.kernel, v1.kernel), (v2.stride, v1.stride), (v2.padding, v1.padding),
                 (v2.pool, v1.pool), (v2.HW_KIND, v1.HW_KIND)]:
        assert a == b
    assert v2.pool == G.Pool("max", (2, 2), (2, 2)) and v2.padding == "valid"
    # non-square v1 windows keep their axes: x (batch axis 1) is Akida's width
    rect = make_layer("Convolutional", "r", {"kernel_width": 5, "kernel_height": 3,
                                             "stride_x": 2, "stride_y": 1, "filters": 4})
    assert rect.kernel == (5, 3) and rect.stride == (2, 1) and rect.padding == "same"
    assert Layer.kernel.fget(rect) is None   # the base class has no window

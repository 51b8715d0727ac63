"""Input-convolution (HRC) rules: when Akida's mapper refuses an InputConvolutional (Akida 1.0)
or an InputConv2D (Akida 2.0), with its own wording and message order."""
from __future__ import annotations

from ...layers import ACT_RELU, POOL_AVG, POOL_MAX
from ..types import Device
from .constraints import HRC_TYPES, MapConstraints, kernel_hw
from .refusal import Unmappable, or_list, raise_all


def check_hrc(layer, device: Device, cons: MapConstraints) -> None:
    """The input convolution runs on the HRC; Akida reports its refusals together (probed with
    Akida's mapper on small models; no corpus input convolution is refused but the final
    corpus's 1x1 InputConvolutional: "Kernel size should be 3, 5 or 7.").  v1:
    :func:`hrc_v1_refusals`.  v2 (InputConv2D; TwoNodesIPv2, TwelveNodesIPv2), in this order:
    kernel 3, 4, 5 or 7; max pooling of size 2 or 3 at stride 2 ("Unsupported max-pooling size,
    max-pooling stride combinaison. The only supported combinaison of (Pool_size, Pool_stride)
    are :(2, 2) or (3, 2). Received (3, 3).", Akida's spelling; also for (1, 1) and (2, 1));
    ``input_dims[0]`` at least 5 ("Unsupported input size. Received: 3 as first dimension.\n
    The first dimension should be >= 5."; it maps at 4096, also when smaller than the kernel);
    ``input_dims[1]`` from 5 to 384; with ReLU 4- or 8-bit outputs ("Output should be 4-bit or
    8-bit. 2 given.", corpus: every 2-bit InputConv2D); at most 512 filters; an activation
    ("The first convolutional layer of a model can only be mapped if its activations are
    enabled.", alone for a 2-bit one without); 8-bit weights ("Only 8-bit weigths are
    supported."), in Akida's multi-line wording (probed with up to six faults at once)."""
    if layer.TYPE not in HRC_TYPES:
        return
    if device.mesh.hrc is None:
        raise Unmappable("The device has no HRC for an input convolution.")
    if layer.TYPE == "InputConvolutional":
        raise_all(hrc_v1_refusals(layer, cons))
        return
    x, y, _ = layer.input_dims
    p = layer.params
    filters, out = p["filters"], p["output_bits"]
    relu = p.get("activation", 0) == ACT_RELU
    k = kernel_hw(layer)[0]
    pool = (p.get("pool_size"), p.get("pool_stride"))
    raise_all([m for cond, m in (
        (k not in cons.hrc_kernels_v2, "Unsupported kernel size.\n The kernel size should be "
         f"{or_list(cons.hrc_kernels_v2)}. {k} given."),
        (p.get("pool_type") == POOL_MAX and pool not in cons.hrc_pools_v2, "Unsupported "
         "max-pooling size, max-pooling stride combinaison. The only supported combinaison of "
         "(Pool_size, Pool_stride) are :" + " or ".join(map(str, cons.hrc_pools_v2))
         + f". Received {pool}."),
        (x < cons.hrc_min_dim, f"Unsupported input size. Received: {x} as first dimension.\n "
         f"The first dimension should be >= {cons.hrc_min_dim}."),
        (not cons.hrc_min_dim <= y <= cons.hrc_max_dim1_v2, f"Unsupported input size. "
         f"Received: {y} as second dimension.\n The second dimension should be between "
         f"{cons.hrc_min_dim} and {cons.hrc_max_dim1_v2}."),
        (relu and out not in (4, 8), f"Output should be 4-bit or 8-bit. {out} given."),
        (filters > cons.hrc_max_filters, "The filters number should be set between 1 and "
         f"{cons.hrc_max_filters}. {filters} given."),
        (not relu, "The first convolutional layer of a model can only be mapped if its "
         "activations are enabled."),
        (p.get("weights_bits") != 8, "Only 8-bit weigths are supported.")) if cond])


def hrc_v1_refusals(layer, cons: MapConstraints) -> list[str]:
    """Akida 1.0 input convolution (InputConvolutional), in Akida's order (probed with Akida's
    mapper on AKD1000, AKD1500 and TwoNodesIPv1, one to six faults at a time):

    * a square kernel ("Kernel size should be symmetric.") of width 3, 5 or 7 ("Kernel size
      should be 3, 5 or 7."; Akida reads the width: 3 high x 1 wide gets both, 1 x 3 only the
      first; the final corpus: a 1x1 one on every v1 device);
    * 1 or 3 input channels ("The parameter input_channels must be 1 or 3.");
    * at most :attr:`MapConstraints.hrc_max_filters_v1` filters for its kernel and channels
      ("The parameter num_neurons should be set between 1 and 192."; not checked for a kernel
      width it refuses);
    * ``input_dims[0]`` and ``input_dims[1]`` at least 5 ("Input first dimension size cannot
      be smaller than 5.", "Input second dimension size ..."), ``input_dims[0]`` at least the
      kernel width ("Input first dimension size cannot be smaller than kernel size."; a 7x7
      kernel on a 6 x 6 input), ``input_dims[1]`` at most 256 ("The maximum input second
      dimension size is 256 (got 300).");
    * max pooling of 1 or 2 ("The parameter pooling_y should be 1 or 2. The parameter
      pooling_x should be 1 or 2." for 3 and 4), no global average pooling ("The parameter
      pool_type cannot be Average.");
    * an activation ("The first convolutional layer of a model can only be mapped if its
      activations are enabled.").
    """
    p = layer.params
    kh, kw = kernel_hw(layer)
    x, y, c = layer.input_dims
    limits = dict((k, (one, three)) for k, one, three in cons.hrc_max_filters_v1)
    limit = limits[kw][c == 3] if kw in limits else None
    pooled = p.get("pool_type") == POOL_MAX
    return [m for cond, m in (
        (kh != kw, "Kernel size should be symmetric."),
        (kw not in limits, f"Kernel size should be {or_list(sorted(limits))}."),
        (c not in (1, 3), "The parameter input_channels must be 1 or 3."),
        (limit is not None and p["filters"] > limit,
         f"The parameter num_neurons should be set between 1 and {limit}."),
        (x < cons.hrc_min_dim, f"Input first dimension size cannot be smaller than "
         f"{cons.hrc_min_dim}."),
        (y < cons.hrc_min_dim, f"Input second dimension size cannot be smaller than "
         f"{cons.hrc_min_dim}."),
        (x < kw, "Input first dimension size cannot be smaller than kernel size."),
        (y > cons.hrc_max_dim1_v1, "The maximum input second dimension size is "
         f"{cons.hrc_max_dim1_v1} (got {y})."),
        (pooled and p.get("pooling_height") not in (1, 2),
         "The parameter pooling_y should be 1 or 2."),
        (pooled and p.get("pooling_width") not in (1, 2),
         "The parameter pooling_x should be 1 or 2."),
        (p.get("pool_type") == POOL_AVG, "The parameter pool_type cannot be Average."),
        (p.get("activation", 1) == 0, "The first convolutional layer of a model can only be "
         "mapped if its activations are enabled.")) if cond]

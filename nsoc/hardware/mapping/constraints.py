"""Mapping constants: layer kinds, modes, the limits of Akida's NPs (``MapConstraints``) and
the layer geometry the rules read (kernel, stride, pooling)."""
from __future__ import annotations

from dataclasses import dataclass

MODES = ("AllNps", "Minimal", "HwPr")
NO_NP_TYPES = frozenset({"Quantizer", "InputData", "Dequantizer"})
HRC_TYPES = frozenset({"InputConv2D", "InputConvolutional"})
CNP_TYPES = frozenset({"Conv2D", "DepthwiseConv2D", "Convolutional", "SeparableConvolutional"})
FNP_TYPES = frozenset({"Dense1D", "FullyConnected"})
SKIP_TYPES = frozenset({"Add", "Concatenate"})

#: hw_version of the devices built on the NSoC_v2 silicon (AKD1000): no partial
#: reconfiguration (its HwPr mappings equal AllNps in the corpus: 32 of 32 models) and no
#: 3x3 max pooling ("Pooling size 3 is not supported on NSoC_v2", AKD1000 only).
NSOC_V2_HW_VERSIONS = frozenset({"BC.00.000.002"})


@dataclass(frozen=True)
class MapConstraints:
    """Mapping limits; each one's comment says what in Akida's mappings shows it."""

    # most filters one CNP holds (Akida's MapConstraints default; corpus: 512-filter layers
    # on one NP when their weights fit)
    cnp_max_filters: int = 512
    # most filters of one CNP layer, both versions: "The maximum number of filters is 2048 (got
    # 2049)." (Akida's mapper probed: 2048 filters pass this check, 2049 and 4096 refused, for
    # Convolutional, SeparableConvolutional and Conv2D)
    cnp_layer_max_filters: int = 2048
    # widest input band of a v2 CNP: 256-column inputs split in 4 bands of 64, 100 in 2 of 50,
    # 128 in 2 of 64 (corpus, every v2 device)
    cnp_max_width: int = 64
    # widest input band of a v1 CNP: 256 columns in 8 bands of 32, 64 in 2 of 32, 48 in 2 of 24
    cnp_max_width_v1: int = 32
    cnp_max_height: int = 256
    # Dense1D fan-in (no corpus layer is larger; 2048 inputs map)
    fnp_max_inputs_v2: int = 2048
    # FullyConnected: H*W*C at most 81920 (AKD1500, TwoNodesIPv1), at most 2048 channels when
    # H*W > 1, weights of 1 to 4 bits (Akida's mapper probed, its wordings)
    fnp_max_inputs_v1: int = 81920
    # ... on the NSoC_v2 silicon (AKD1000): "The maximum value is 57334." (probed: 57600 and
    # 60000 inputs refused, 50000 map; hardware.md gives the same figure)
    fnp_max_inputs_nsoc_v2: int = 57334
    fnp_max_channels_v1: int = 2048
    fnp_max_weight_bits_v1: int = 4
    # Dense1D input shifts: "Input shift exceeds memory. Maximum size is 768 bytes." (corpus)
    fnp_input_shift_bytes: int = 768
    # input convolution (HRC), Akida's mapper probed (rules.check_hrc): at most 512 filters;
    # v1 input_dims[1] at most 256; v2 input_dims[1] at most 384, kernels 3, 4, 5, 7
    hrc_max_filters: int = 512
    hrc_max_dim1_v1: int = 256
    hrc_max_dim1_v2: int = 384
    hrc_kernels_v2: tuple = (3, 4, 5, 7)
    # v2 max pooling (size, stride): Akida's message lists these two (probed: (3, 3), (2, 1),
    # (1, 1) refused, (2, 2) and (3, 2) map)
    hrc_pools_v2: tuple = ((2, 2), (3, 2))
    # both versions: input_dims[0] and [1] at least 5 (Akida's mapper probed: 3 and 4 refused)
    hrc_min_dim: int = 5
    # v1: most filters per (kernel width, filters with 1 input channel, with 3): Akida's mapper
    # probed on AKD1000, AKD1500 and TwoNodesIPv1 at the limit and one above (hardware.md gives
    # the same table: 512/192/96 for 1 channel, 192/64/32 for 3)
    hrc_max_filters_v1: tuple = ((3, 512, 192), (5, 192, 64), (7, 96, 32))
    # v2 global average pooling: "input height cannot exceed 64" (corpus, 45 entries)
    gap_max_height_v2: int = 64
    # v2 global average pooling: "input dimensions width * height cannot exceed 144." (Akida's
    # message on a 62x40 input in the independent dev corpus of tools/make_mapcorpus.py; the
    # train corpus agrees: its largest pooled input that maps is 12 x 12)
    gap_max_area_v2: int = 144
    # v1 global average pooling: "the output of the convolution must have at least 3 rows"
    gap_min_rows_v1: int = 3
    # v1 global average pooling: "With average pooling, input height cannot exceed 32." on
    # input_dims[0] (dev corpus of tools/make_mapcorpus.py: a 56 x 42 pooled input, every v1
    # device; Akida's mapper probed: 33 x 16 and 40 x 32 refused, 16 x 33 and 32 x 40 map; the
    # train corpus's widest pooled input that maps is 28)
    gap_max_height_v1: int = 32
    # v1 weight widths a CNP takes (Akida's wording lists them; dev corpus: an 8-bit
    # Convolutional refused; Akida's mapper probed: 1/2/4-bit Convolutional and 2/4-bit
    # SeparableConvolutional map, 8-bit ones and 1-bit separable ones are refused)
    v1_conv_weight_bits: tuple = (1, 2, 4)
    v1_separable_weight_bits: tuple = (2, 4)
    # v2 max pooling: "Pooling size must be 1 or 2." (corpus, 72 entries with size 3)
    v2_pool_sizes: tuple = (1, 2)
    # v1 max pooling: "Pooling size must be 1, 2 or 3." (Akida's mapper probed with a 4 x 4
    # window on AKD1500 and AKD1000; the corpus has sizes 2 and 3 only)
    v1_pool_sizes: tuple = (1, 2, 3)
    # v1 CNP strides: "Convolution stride must be 1 or 2." and "Convolution stride 2 is only
    # supported for 3x3 kernels." (dev corpus of tools/make_mapcorpus.py: a 5x5 stride-2
    # Convolutional refused on every v1 device; Akida's mapper probed: stride 3 refused, 5x5 and
    # 7x7 stride 2 refused, 3x3 stride 2 maps; train corpus: 188 3x3 stride-2 CNP layers map)
    v1_strides: tuple = (1, 2)
    v1_strided_kernel: tuple = (3, 3)
    # CNP kernel sizes the mapper takes: "Kernel size must be 1, 3, 5 or 7." (Convolutional,
    # Conv2D) and "Kernel size must be 3, 5 or 7." (SeparableConvolutional, DepthwiseConv2D).
    # Akida's mapper probed on AKD1000 and TwoNodesIPv2: 9x9 refused for all four, 1x1 for the
    # separable and depthwise ones; even sizes never reach the mapper (akida's layers refuse
    # them: "must be strictly positive and odd", "Kernel size must be odd.")
    conv_kernels: tuple = (1, 3, 5, 7)
    depthwise_kernels: tuple = (3, 5, 7)


# ----- geometry ---------------------------------------------------------------------------
def kernel_hw(layer) -> tuple[int, int]:
    """(kernel height, kernel width) of a convolution (v2 square ``kernel_size``)."""
    p = layer.params
    if "kernel_size" in p:
        return p["kernel_size"], p["kernel_size"]
    return p["kernel_height"], p["kernel_width"]


def stride_of(layer) -> int:
    p = layer.params
    return p.get("kernel_stride", p.get("stride_x", 1))


def max_pool_size(layer) -> int:
    """Max pooling window (0 without max pooling)."""
    p = layer.params
    if p.get("pool_type") != 1:
        return 0
    return p.get("pool_size", p.get("pooling_width", 0))


def conv_output_rows(layer) -> int:
    """Rows (dims[1]) of the convolution before any pooling."""
    return layer.conv_output_xy[1]

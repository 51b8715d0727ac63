"""Layer types as the timing model groups them (until layers declare their hardware kind)."""
from __future__ import annotations

CONV_TYPES = frozenset({"Convolutional", "Conv2D"})
DW_TYPES = frozenset({"DepthwiseConv2D"})
SEP_TYPES = frozenset({"SeparableConvolutional"})
FC_TYPES = frozenset({"FullyConnected", "Dense1D"})
HRC_TYPES = frozenset({"InputConvolutional", "InputConv2D"})
SOURCE_TYPES = frozenset({"Quantizer", "InputData"})   # the model input: no NP, no time
SOFTWARE_TYPES = frozenset({"Dequantizer"})            # run by the host after the chip

"""Mapping constants: layer kinds, modes and the limits of Akida's NPs (``MapConstraints``)."""
from __future__ import annotations

from dataclasses import dataclass

MODES = ("AllNps", "Minimal", "HwPr")
NO_NP_TYPES = frozenset({"Quantizer", "InputData", "Dequantizer"})
HRC_TYPES = frozenset({"InputConv2D", "InputConvolutional"})
CNP_TYPES = frozenset({"Conv2D", "DepthwiseConv2D", "Convolutional", "SeparableConvolutional"})
FNP_TYPES = frozenset({"Dense1D", "FullyConnected"})
SKIP_TYPES = frozenset({"Add", "Concatenate"})


@dataclass(frozen=True)
class MapConstraints:
    """Mapping limits (akida's ``MapConstraints`` defaults plus the published FNP/HRC limits)."""

    cnp_max_filters: int = 512
    cnp_max_height: int = 256
    cnp_max_width: int = 64
    # v1 column bands: at most 32 columns, each band also holding the kernel_width - 1 columns
    # its neighbours share (no refcase splits a v1 layer; these reproduce the published
    # AkidaNet 0.5 AKD1000 counts conv_1 4, conv_2 6, conv_3 3 NPs and 3/2/1 separable bands)
    cnp_max_width_v1: int = 32
    fnp_max_inputs_v2: int = 2048    # Dense1D fan-in
    fnp_max_inputs_v1: int = 57334   # FullyConnected H*W*C (hardware.md)
    hrc_max_width: int = 256         # InputConv line width
    hrc_max_filters: int = 512
    cnp_max_filters_avg_pool: int = 32  # a CNP doing global average pooling (v2)
    # SeparableConvolutional (v1): at most 64 filters per NP, as the published AKD1000 mappings
    # of AkidaNet 0.5 (separable_4..13 at 64 filters per NP) and DS-CNN (Minimal, 64 per NP) show
    cnp_max_filters_separable: int = 64
    # True: SeparableConvolutional only on CNP2-capable NPs (54 on AKD1000); False (default):
    # on any CNP, CNP2-capable first (the published DS-CNN AllNps uses 64 NPs for them)
    separable_cnp2_only: bool = False

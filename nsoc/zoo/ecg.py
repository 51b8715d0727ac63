"""A CNN for single-lead ECG beat classification, built directly as an nsoc model.

Not a BrainChip zoo model (BrainChip's ECG example fine-tunes AkidaNet on 2-D maps): a compact
CNN of the kind the arrhythmia literature uses on the MIT-BIH database (1-D CNNs: Kiranyaz et
al., IEEE TBME 2016; Acharya et al. 2017), 5 AAMI classes (N, S, V, F, Q).  A window of
``length`` samples (a multiple of 16) is folded into a ``16 x length/16 x 1`` map: each row
(y) holds 16 consecutive samples along x, the rows follow in time, so a k x k kernel sees k
consecutive samples in each of k rows 16 samples apart.

Folded, not laid out as a ``1 x length`` strip with ``1 x k`` kernels, because Akida's mapper
refuses the strip on both versions (probed with Akida 2.19's mapper on AKD1000 and
TwoNodesIPv2): the input convolution needs at least 5 columns (Akida 1.0: "Input first
dimension size cannot be smaller than 5.") and, on Akida 1.0, a square kernel of 3, 5 or 7
("Kernel size should be symmetric."); Akida 1.0 CNP kernels must be square ("Kernel width and
height must be equal.") and stride 2 only with 3x3 kernels.  The layers:

* ``conv_0``: 7x7, stride 2, 16f filters (input convolution, HRC);
* ``conv_1``: 3x3, stride 2, 32f; ``conv_2``: 3x3, 64f;
* ``conv_3``: 3x3, 64f, global average pooling; ``classifier``: ``classes`` units.

Akida 1.0 needs at least 3 rows under global average pooling (``length`` >= 192); Akida 2.0
pools at most 144 positions (``length`` <= 2304).
"""
from __future__ import annotations

from ..errors import InputError
from .builder import ZooBuilder, scaled
from .registry import ZooEntry, ZooParam, builder_kwargs, metadata, register

#: samples per row of the folded window
ROW_SAMPLES = 16


def _ecg(target: str, *, length: int, width: float, classes: int, **common):
    if length % ROW_SAMPLES:
        raise InputError(f"length={length} must be a multiple of {ROW_SAMPLES} (rows of "
                         f"{ROW_SAMPLES} samples)")
    if not 0.0 < width <= 8.0 or classes < 1:
        raise InputError(f"width={width} must be in (0, 8] and classes={classes} at least 1")
    b = ZooBuilder(target, (ROW_SAMPLES, length // ROW_SAMPLES, 1), **builder_kwargs(common))
    b.input_conv("conv_0", scaled(16, width), 7, 2)
    b.conv("conv_1", scaled(32, width), 3, 2)
    b.conv("conv_2", scaled(64, width), 3, 1)
    b.conv("conv_3", scaled(64, width), 3, 1, pool="gap")
    b.dense("classifier", classes, last=True)
    params = dict(length=length, width=width, classes=classes, **common)
    return b.build(metadata("ecg1d", target, params))


ECG1D = register(ZooEntry(
    name="ecg1d",
    summary="CNN on folded single-lead ECG windows, 5 AAMI classes (5 layers)",
    source="literature 1-D ECG CNN (Kiranyaz et al. 2016), the window folded into a 2-D map "
           "for Akida; not a BrainChip model",
    targets=("v1", "v2"),
    params=(ZooParam("length", 256, int, "samples per window (a multiple of 16; rows of 16 "
                     "samples)", lo=192, hi=2304),
            ZooParam("width", 1.0, float, "width multiplier of the filter counts", lo=0.0,
                     hi=8.0, lo_open=True),
            ZooParam("classes", 5, int, "beat classes", lo=1)),
    builder=_ecg,
    devices={"v1": "AKD1000", "v2": "TwoNodesIPv2"},
))

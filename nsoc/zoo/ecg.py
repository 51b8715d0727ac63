"""A 1-D CNN for single-lead ECG beat classification, built directly as an nsoc model.

Not a BrainChip zoo model (BrainChip's ECG example fine-tunes AkidaNet on 2-D maps): a compact
1-D CNN of the kind the arrhythmia literature uses on the MIT-BIH database (Kiranyaz et al.,
IEEE TBME 2016; Acharya et al. 2017), 5 AAMI classes (N, S, V, F, Q).  A window of ``length``
samples is laid out along y (rows) as a ``1 x length x 1`` map (Akida 1.0 needs at least 3 rows
under global average pooling, Akida 2.0 at most 64 columns):

* ``conv_0``: kernel 7, stride 2, 16f filters (input convolution, HRC);
* ``conv_1``: kernel 5, stride 2, 32f; ``conv_2``: kernel 5, stride 2, 64f;
* ``conv_3``: kernel 3, 64f, global average pooling; ``classifier``: ``classes`` units.

Akida 1.0 kernels are ``1 x k`` (``kernel_width`` 1, ``kernel_height`` k).  Akida 2.0 has only
square kernels: there each convolution is ``k x k`` with 'same' padding, whose columns outside
the single input column see padding only, so it computes the same 1-D convolution (MACs and
weight memory count the full ``k x k`` kernels).
"""
from __future__ import annotations

from ..errors import InputError
from .builder import ZooBuilder, scaled
from .registry import ZooEntry, ZooParam, builder_kwargs, metadata, register


def _ecg(target: str, *, length: int, width: float, classes: int, **common):
    if length < 16:
        raise InputError(f"length={length} is too short: use at least 16 samples")
    if not 0.0 < width <= 8.0 or classes < 1:
        raise InputError(f"width={width} must be in (0, 8] and classes={classes} at least 1")
    b = ZooBuilder(target, (1, length, 1), **builder_kwargs(common))
    b.input_conv("conv_0", scaled(16, width), (1, 7), 2)       # (kernel x, kernel y)
    b.conv("conv_1", scaled(32, width), (1, 5), 2)
    b.conv("conv_2", scaled(64, width), (1, 5), 2)
    b.conv("conv_3", scaled(64, width), (1, 3), 1, pool="gap")
    b.dense("classifier", classes, last=True)
    params = dict(length=length, width=width, classes=classes, **common)
    return b.build(metadata("ecg1d", target, params))


ECG1D = register(ZooEntry(
    name="ecg1d",
    summary="1-D CNN, single-lead ECG beats, 5 AAMI classes (5 layers)",
    source="literature 1-D ECG CNN (Kiranyaz et al. 2016), not a BrainChip model",
    targets=("v1", "v2"),
    params=(ZooParam("length", 256, int, "samples per window (rows, y)", lo=16),
            ZooParam("width", 1.0, float, "width multiplier of the filter counts", lo=0.0,
                     hi=8.0, lo_open=True),
            ZooParam("classes", 5, int, "beat classes", lo=1)),
    builder=_ecg,
    devices={"v1": "AKD1000", "v2": "TwoNodesIPv2"},
))

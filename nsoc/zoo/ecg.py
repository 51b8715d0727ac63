"""A 1-D CNN for single-lead ECG beat classification, built directly as an nsoc model.

Not a BrainChip zoo model (BrainChip's ECG example fine-tunes AkidaNet on 2-D maps): a compact
1-D CNN of the kind the arrhythmia literature uses on the MIT-BIH database (Kiranyaz et al.,
IEEE TBME 2016; Acharya et al. 2017), 5 AAMI classes (N, S, V, F, Q).  A window of ``length``
samples is laid out along x as a ``length x 1 x 1`` map:

* ``conv_0``: kernel 7, stride 2, 16f filters (input convolution, HRC);
* ``conv_1``: kernel 5, stride 2, 32f; ``conv_2``: kernel 5, stride 2, 64f;
* ``conv_3``: kernel 3, 64f, global average pooling; ``classifier``: ``classes`` units.

Akida 1.0 kernels are ``k x 1`` (``kernel_width`` k, ``kernel_height`` 1).  Akida 2.0 has only
square kernels: there each convolution is ``k x k`` with 'same' padding, whose rows outside the
single input row see padding only, so it computes the same 1-D convolution (MACs and weight
memory count the full ``k x k`` kernels).
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
    b = ZooBuilder(target, (length, 1, 1), **builder_kwargs(common))
    b.input_conv("conv_0", scaled(16, width), (7, 1), 2)
    b.conv("conv_1", scaled(32, width), (5, 1), 2)
    b.conv("conv_2", scaled(64, width), (5, 1), 2)
    b.conv("conv_3", scaled(64, width), (3, 1), 1, pool="gap")
    b.dense("classifier", classes, last=True)
    params = dict(length=length, width=width, classes=classes, **common)
    return b.build(metadata("ecg1d", target, params))


ECG1D = register(ZooEntry(
    name="ecg1d",
    summary="1-D CNN, single-lead ECG beats, 5 AAMI classes (5 layers)",
    source="literature 1-D ECG CNN (Kiranyaz et al. 2016), not a BrainChip model",
    targets=("v1", "v2"),
    params=(ZooParam("length", 256, int, "samples per window (x)", lo=16),
            ZooParam("width", 1.0, float, "width multiplier of the filter counts", lo=0.0,
                     hi=8.0, lo_open=True),
            ZooParam("classes", 5, int, "beat classes", lo=1)),
    builder=_ecg,
    devices={"v2": "TwoNodesIPv2"},
    unmappable={"v1": "Akida 1.0 refuses global average pooling on fewer than 3 rows "
                      "(\"the output of the convolution must have at least 3 rows\"): a 1-D "
                      "input has 1; the v1 build runs in software (map without --hw-only)"},
))

"""DS-CNN keyword spotting built directly as an nsoc model.

Source architecture: ``akida_models.ds_cnn_kws`` (BrainChip, Apache-2.0), after Zhang et al.,
"Hello Edge: Keyword Spotting on Microcontrollers" (2017): a 49 x 10 MFCC map (49 frames of 10
coefficients, one channel) ->

* ``conv_0``: 5x5 stride 2, 64 filters (input convolution, HRC) -> 25 x 5 x 64;
* ``separable_1`` .. ``separable_4``: 3x3 depthwise + pointwise, 64 filters, the last with
  global average pooling -> 1 x 1 x 64;
* ``dense_5``: ``classes`` units (33 in the published model: 32 keywords + silence/unknown).

Akida 1.0: fused ``SeparableConvolutional``; Akida 2.0: ``dw_separable_N`` + ``pw_separable_N``.
``frames``, ``bins``, ``filters`` and ``classes`` change the input size, width and outputs.
"""
from __future__ import annotations

from ..errors import InputError
from .builder import ZooBuilder
from .registry import ZooEntry, ZooParam, builder_kwargs, metadata, register


def _dscnn(target: str, *, frames: int, bins: int, filters: int, classes: int, **common):
    if frames < 5 or bins < 5:
        raise InputError(f"frames={frames}, bins={bins}: use at least 5 x 5 (the 5x5 input "
                         f"convolution)")
    if filters < 1 or classes < 1:
        raise InputError(f"filters={filters}, classes={classes} must be at least 1")
    b = ZooBuilder(target, (frames, bins, 1), **builder_kwargs(common))
    b.input_conv("conv_0", filters, 5, 2)
    for i in range(1, 5):
        b.separable(f"separable_{i}", filters, 3, 1, "gap" if i == 4 else None)
    b.dense("dense_5", classes, last=True)
    params = dict(frames=frames, bins=bins, filters=filters, classes=classes, **common)
    return b.build(metadata("dscnn_kws", target, params))


DSCNN_KWS = register(ZooEntry(
    name="dscnn_kws",
    summary="DS-CNN keyword spotting on 49x10 MFCCs (6 layers)",
    source="akida_models.ds_cnn_kws (Hello Edge DS-CNN)",
    targets=("v1", "v2"),
    params=(ZooParam("frames", 49, int, "input time frames (x)", lo=5),
            ZooParam("bins", 10, int, "MFCC coefficients per frame (y)", lo=5),
            ZooParam("filters", 64, int, "filters of every layer (width)", lo=1),
            ZooParam("classes", 33, int, "keyword classes", lo=1)),
    builder=_dscnn,
    devices={"v1": "AKD1000", "v2": "TwoNodesIPv2"},
))

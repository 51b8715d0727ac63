"""A YOLO (v2-style) detector on the AkidaNet backbone, built directly as an nsoc model.

Source architecture: ``akida_models.yolo_base`` (BrainChip, Apache-2.0), after Redmon &
Farhadi, "YOLO9000" (2017): the AkidaNet backbone ``conv_0`` .. ``separable_13`` without
global pooling (see :mod:`nsoc.zoo.akidanet`), then three separable 3x3 blocks ``1conv``,
``2conv``, ``3conv`` of 1024a filters and the separable 3x3 ``detection_layer`` with
``boxes * (4 + 1 + classes)`` outputs per grid cell and no activation.  A 224 input gives a
7 x 7 grid.  Akida 1.0: fused ``SeparableConvolutional``; Akida 2.0: ``dw_`` + ``pw_`` layers.
"""
from __future__ import annotations

from ..errors import InputError
from .akidanet import (
    SIZE_HELP,
    akidanet_backbone,
    alpha_param,
    check_alpha,
    check_classes,
    check_size,
)
from .builder import ZooBuilder, scaled
from .registry import ZooEntry, ZooParam, builder_kwargs, metadata, register


def _yolo(target: str, *, alpha: float, size: int, classes: int, boxes: int, **common):
    check_alpha(alpha)
    check_size(size)
    check_classes(classes)
    if boxes < 1:
        raise InputError(f"boxes={boxes} must be at least 1")
    b = ZooBuilder(target, (size, size, 3), **builder_kwargs(common))
    akidanet_backbone(b, alpha, top_pooling=False)
    for name in ("1conv", "2conv", "3conv"):
        b.separable(name, scaled(1024, alpha), 3, 1)
    b.separable("detection_layer", boxes * (4 + 1 + classes), 3, 1, last=True)
    params = dict(alpha=alpha, size=size, classes=classes, boxes=boxes, **common)
    return b.build(metadata("yolo", target, params))


YOLO = register(ZooEntry(
    name="yolo",
    summary="YOLOv2-style detector, AkidaNet backbone, 7x7 grid at 224 (18 layers)",
    source="akida_models.yolo_base (AkidaNet backbone + YOLOv2 head)",
    targets=("v1", "v2"),
    params=(alpha_param(0.5, "width multiplier of backbone and head"),
            ZooParam("size", 224, int, SIZE_HELP, lo=32),
            ZooParam("classes", 2, int, "object classes", lo=1),
            ZooParam("boxes", 5, int, "anchor boxes per grid cell", lo=1)),
    builder=_yolo,
    devices={"v1": "AKD1000", "v2": "SixNodesIPv2"},
))

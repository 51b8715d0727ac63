"""MobileNet v1 built directly as an nsoc model.

Source architecture: ``akida_models.mobilenet_imagenet`` (BrainChip, Apache-2.0), after Howard
et al., "MobileNets" (2017): ``conv_0`` 3x3 stride 2 (32a filters, HRC), then 13 separable
3x3 blocks ``separable_1`` .. ``separable_13`` of 64a, 128a (stride 2), 128a, 256a (stride 2),
256a, 512a (stride 2), 5 x 512a, 1024a (stride 2), 1024a (global average pooling), and the
dense ``classifier``; widths ``int(n * alpha)``.  Downsampling uses stride-2 separable blocks
(Akida 1.0 supports them for 3x3 kernels; early akida_models releases used max pooling).
Akida 1.0: fused ``SeparableConvolutional``; Akida 2.0: ``dw_`` + ``pw_`` layers.
"""
from __future__ import annotations

from .akidanet import SIZE_HELP, alpha_param, check_alpha, check_classes, check_size
from .builder import ZooBuilder, scaled
from .registry import ZooEntry, ZooParam, builder_kwargs, metadata, register

# (name, filters at alpha 1, stride)
MOBILENET_SEPARABLE = (
    ("separable_1", 64, 1), ("separable_2", 128, 2), ("separable_3", 128, 1),
    ("separable_4", 256, 2), ("separable_5", 256, 1), ("separable_6", 512, 2),
    ("separable_7", 512, 1), ("separable_8", 512, 1), ("separable_9", 512, 1),
    ("separable_10", 512, 1), ("separable_11", 512, 1), ("separable_12", 1024, 2),
    ("separable_13", 1024, 1),
)


def _mobilenet(target: str, *, alpha: float, size: int, classes: int, **common):
    check_alpha(alpha)
    check_size(size)
    check_classes(classes)
    b = ZooBuilder(target, (size, size, 3), **builder_kwargs(common))
    b.input_conv("conv_0", scaled(32, alpha), 3, 2)
    for i, (name, filters, stride) in enumerate(MOBILENET_SEPARABLE):
        pool = "gap" if i == len(MOBILENET_SEPARABLE) - 1 else None
        b.separable(name, scaled(filters, alpha), 3, stride, pool)
    b.dense("classifier", classes, last=True)
    params = dict(alpha=alpha, size=size, classes=classes, **common)
    return b.build(metadata("mobilenet", target, params))


MOBILENET = register(ZooEntry(
    name="mobilenet",
    summary="MobileNet v1 backbone + classifier (15 layers)",
    source="akida_models.mobilenet_imagenet (MobileNet v1)",
    targets=("v1", "v2"),
    params=(alpha_param(0.5, "width multiplier (published: 0.25, 0.5, 1.0)"),
            ZooParam("size", 224, int, SIZE_HELP, lo=32),
            ZooParam("classes", 1000, int, "classifier outputs", lo=1)),
    builder=_mobilenet,
    devices={"v1": "AKD1000", "v2": "SixNodesIPv2"},
))

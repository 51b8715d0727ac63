"""AkidaNet (ImageNet and Visual Wake Words) built directly as nsoc models.

Source architecture: ``akida_models.akidanet_imagenet`` (BrainChip, Apache-2.0) with
``include_top=True``: 15 layers

* ``conv_0`` 3x3 stride 2, 32a filters (the input convolution, HRC);
* ``conv_1`` 3x3, 64a; ``conv_2`` 3x3 stride 2, 128a; ``conv_3`` 3x3, 128a;
* ``separable_4`` stride 2, 256a; ``separable_5`` 256a; ``separable_6`` stride 2, 512a;
  ``separable_7`` .. ``separable_11`` 512a; ``separable_12`` stride 2, 1024a;
  ``separable_13`` 1024a with global average pooling (all separable blocks 3x3);
* ``classifier``: dense, ``classes`` units, no activation;

where ``a`` = alpha and widths are ``int(n * alpha)``.  Akida 1.0 keeps each separable block
fused (``SeparableConvolutional``); Akida 2.0 splits it into ``dw_separable_N`` +
``pw_separable_N`` (akida_models' unfused blocks, as cnn2snn converts them), the global pooling
on ``pw_separable_13``.  ``akidanet_vww`` is the same network at alpha 0.25 on 96x96 inputs
with 2 classes (akida_models' ``akidanet_vww`` Visual Wake Words model).
"""
from __future__ import annotations

from ..errors import InputError
from .builder import ZooBuilder, scaled
from .registry import (
    COMMON_PARAMS,
    ZooEntry,
    ZooParam,
    builder_kwargs,
    metadata,
    register,
)

# (block, name, filters at alpha 1, stride)
AKIDANET_LAYERS = (
    ("input_conv", "conv_0", 32, 2),
    ("conv", "conv_1", 64, 1),
    ("conv", "conv_2", 128, 2),
    ("conv", "conv_3", 128, 1),
    ("separable", "separable_4", 256, 2),
    ("separable", "separable_5", 256, 1),
    ("separable", "separable_6", 512, 2),
    ("separable", "separable_7", 512, 1),
    ("separable", "separable_8", 512, 1),
    ("separable", "separable_9", 512, 1),
    ("separable", "separable_10", 512, 1),
    ("separable", "separable_11", 512, 1),
    ("separable", "separable_12", 1024, 2),
    ("separable", "separable_13", 1024, 1),
)


def check_size(size: int, minimum: int = 32) -> None:
    if size < minimum:
        raise InputError(f"size={size} is too small: use at least {minimum}")


def check_alpha(alpha: float) -> None:
    if not 0.0 < alpha <= 4.0:
        raise InputError(f"alpha={alpha} must be in (0, 4]")


def check_classes(classes: int) -> None:
    if classes < 1:
        raise InputError(f"classes={classes} must be at least 1")


def akidanet_backbone(b: ZooBuilder, alpha: float, top_pooling: bool) -> None:
    """conv_0 .. separable_13 of AkidaNet; global average pooling on separable_13 when
    ``top_pooling`` (classification), none otherwise (detection backbones)."""
    for i, (kind, name, filters, stride) in enumerate(AKIDANET_LAYERS):
        f = scaled(filters, alpha)
        pool = "gap" if top_pooling and i == len(AKIDANET_LAYERS) - 1 else None
        if kind == "input_conv":
            b.input_conv(name, f, 3, stride)
        elif kind == "conv":
            b.conv(name, f, 3, stride)
        else:
            b.separable(name, f, 3, stride, pool)


def build_akidanet(target: str, *, alpha: float, size: int, classes: int, **common):
    """AkidaNet at width ``alpha`` on ``size`` x ``size`` RGB images, ``classes`` outputs."""
    check_alpha(alpha)
    check_size(size)
    check_classes(classes)
    b = ZooBuilder(target, (size, size, 3), **builder_kwargs(common))
    akidanet_backbone(b, alpha, top_pooling=True)
    b.dense("classifier", classes, last=True)
    return b, dict(alpha=alpha, size=size, classes=classes, **common)


def _akidanet(target, **p):
    b, params = build_akidanet(target, **p)
    return b.build(metadata("akidanet", target, params))


def _akidanet_vww(target, **p):
    b, params = build_akidanet(target, **p)
    return b.build(metadata("akidanet_vww", target, params))


SIZE_HELP = "input height = width in pixels"


def alpha_param(default: float, help_text: str) -> ZooParam:
    """The width multiplier parameter: a number in (0, 4]."""
    return ZooParam("alpha", default, float, help_text, lo=0.0, hi=4.0, lo_open=True)
AKIDANET = register(ZooEntry(
    name="akidanet",
    summary="AkidaNet ImageNet classifier (15 layers)",
    source="akida_models.akidanet_imagenet (include_top=True)",
    targets=("v1", "v2"),
    params=(alpha_param(1.0, "width multiplier (published: 0.25, 0.5, 1.0)"),
            ZooParam("size", 224, int, SIZE_HELP + " (published: 160, 224)", lo=32),
            ZooParam("classes", 1000, int, "classifier outputs", lo=1)),
    builder=_akidanet,
    devices={"v1": "AKD1000", "v2": "TwelveNodesIPv2"},
))

AKIDANET_VWW = register(ZooEntry(
    name="akidanet_vww",
    summary="AkidaNet 0.25 Visual Wake Words (person / no person)",
    source="akida_models akidanet_vww: akidanet_imagenet alpha 0.25, 96x96, 2 classes",
    targets=("v1", "v2"),
    params=(alpha_param(0.25, "width multiplier"),
            ZooParam("size", 96, int, SIZE_HELP, lo=32),
            ZooParam("classes", 2, int, "classifier outputs", lo=1)),
    builder=_akidanet_vww,
    devices={"v1": "AKD1000", "v2": "TwoNodesIPv2"},
))

__all__ = ["AKIDANET", "AKIDANET_LAYERS", "AKIDANET_VWW", "COMMON_PARAMS", "akidanet_backbone"]

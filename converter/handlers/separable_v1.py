"""QuantizedSeparableConv2D blocks -> SeparableConvolutional (Akida 1.0 only).

Patterns: SeparableConv2D [> ReLU | > MaxPool2D > ReLU | > GlobalAveragePooling2D [> ReLU]].
Akida 2.0 has no fused separable convolution: use DepthwiseConv2D + 1x1 Conv2D there.
"""
from __future__ import annotations

from ..registry import BlockHandler, register
from ..version import AkidaVersion
from .conv import convert_conv_v1

S, R, MP, GAP = ("QuantizedSeparableConv2D", "QuantizedReLU", "QuantizedMaxPool2D",
                 "QuantizedGlobalAveragePooling2D")


@register
class SeparableHandler(BlockHandler):
    MAIN = S
    PATTERNS = {AkidaVersion.v1: [(S,), (S, R), (S, GAP, R), (S, GAP), (S, MP, R)]}

    def convert(self, ctx, block, inbounds, as_input):
        convert_conv_v1(ctx, block, inbounds, False, sep=True)

"""QuantizedDepthwiseConv2D blocks -> DepthwiseConv2D (Akida 2.0 only).

Patterns: DepthwiseConv2D [> MaxPool2D > ReLU | > ReLU].
"""
from __future__ import annotations

from ..registry import BlockHandler, register
from ..version import AkidaVersion
from .conv import convert_conv_v2

D, R, MP = "QuantizedDepthwiseConv2D", "QuantizedReLU", "QuantizedMaxPool2D"


@register
class DepthwiseHandler(BlockHandler):
    MAIN = D
    PATTERNS = {AkidaVersion.v2: [(D,), (D, R), (D, MP, R)]}

    def convert(self, ctx, block, inbounds, as_input):
        convert_conv_v2(ctx, block, inbounds, False, depthwise=True)

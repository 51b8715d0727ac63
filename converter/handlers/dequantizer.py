"""Dequantizer: a v2 Dequantizer layer; on v1 folded into the last layer's act_step."""
from __future__ import annotations

from nsoc.errors import ConversionError

from ..registry import BlockHandler, register
from ..variables import v1_dequantizer, v2_dequantizer_scales
from ..version import AkidaVersion


@register
class DequantizerHandler(BlockHandler):
    MAIN = "Dequantizer"
    PATTERNS = {AkidaVersion.v1: [("Dequantizer",)], AkidaVersion.v2: [("Dequantizer",)]}

    def convert(self, ctx, block, inbounds, as_input):
        deq = block[0]
        if len(inbounds) != 1:
            raise ConversionError(f"Dequantizer '{deq.name}' must follow exactly one layer")
        if ctx.version == AkidaVersion.v1:
            last = ctx.last()
            if not last.params.get("activation", 0):
                v1_dequantizer(last.variables, deq)
            return
        dims = ctx.dims[inbounds[0]]
        ctx.add("Dequantizer", deq.name, {}, {"scales": v2_dequantizer_scales(deq, dims[2])},
                inbounds, dims)

"""QuantizedConcatenate -> Concatenate (Akida 2.0), along channels."""
from __future__ import annotations

from nsoc.errors import ConversionError

from ..registry import BlockHandler, register
from ..version import AkidaVersion


@register
class ConcatenateHandler(BlockHandler):
    MAIN = "QuantizedConcatenate"
    PATTERNS = {AkidaVersion.v2: [("QuantizedConcatenate",)]}

    def convert(self, ctx, block, inbounds, as_input):
        cat = block[0]
        if getattr(cat, "axis", -1) not in (-1, 3):
            raise ConversionError(f"layer '{cat.name}': Akida concatenates along channels only "
                                  f"(axis=-1), got axis={cat.axis}")
        dims = [ctx.dims[name] for name in inbounds]
        bits = max(lay.output_bits for lay in ctx.layers if lay.name in inbounds)
        out = (dims[0][0], dims[0][1], sum(d[2] for d in dims))
        ctx.add("Concatenate", cat.name, {"output_bits": bits}, {}, inbounds, out)

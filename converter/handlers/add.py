"""QuantizedAdd -> Add (Akida 2.0): ``(a << a_shift) + (b << b_shift)`` then the output shift."""
from __future__ import annotations

import numpy as np

from nsoc.errors import ConversionError

from ..registry import BlockHandler, register
from ..variables import _np, broadcast, v2_output
from ..version import AkidaVersion
from .common import out_quantizer


@register
class AddHandler(BlockHandler):
    MAIN = "QuantizedAdd"
    PATTERNS = {AkidaVersion.v2: [("QuantizedAdd",)]}

    def convert(self, ctx, block, inbounds, as_input):
        add = block[0]
        if len(inbounds) != 2:
            raise ConversionError(f"layer '{add.name}': Akida adds exactly two inputs, got "
                                  f"{len(inbounds)}; chain two-input Add layers")
        dims = ctx.dims[inbounds[0]]
        n = dims[2]
        oq = out_quantizer(block)
        buffer_bits = int(add.buffer_bitwidth) + 1
        params = {"buffer_bits": buffer_bits,
                  "output_bits": int(oq.bitwidth) if oq else buffer_bits}
        if oq:
            params["post_op_buffer_bits"] = int(oq.buffer_bitwidth)
        variables = {
            "a_shift": broadcast(_np(add.a_shift.value).astype(np.uint8), n, np.uint8, "a_shift"),
            "b_shift": broadcast(_np(add.b_shift.value).astype(np.uint8), n, np.uint8, "b_shift"),
        }
        variables.update(v2_output(oq, n, buffer_bits, with_scales=False))
        ctx.add("Add", add.name, params, variables, inbounds, dims)

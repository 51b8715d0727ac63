"""InputQuantizer -> Quantizer (both versions): float or integer batch to 8-bit integers."""
from __future__ import annotations

import numpy as np

from ..registry import BlockHandler, register
from ..variables import _np, broadcast
from ..version import AkidaVersion
from .common import keras_dims

_PATTERNS = {AkidaVersion.v1: [("InputQuantizer",)], AkidaVersion.v2: [("InputQuantizer",)]}


@register
class InputQuantizerHandler(BlockHandler):
    """``scales = 2**frac_bits`` and ``zero_points`` per input channel."""

    MAIN = "InputQuantizer"
    PATTERNS = _PATTERNS
    INPUT_PATTERNS = _PATTERNS

    def convert(self, ctx, block, inbounds, as_input):
        q = block[0]
        dims = keras_dims(q.input_shape)
        channels = dims[2]
        scales = (2.0 ** _np(q.frac_bits.value)).astype(np.float32)
        zp_rec = getattr(q, "zero_points", None)
        zero_points = _np(zp_rec.value.values) if zp_rec is not None and zp_rec.value is not None \
            else np.zeros((1,))
        params = {"input_width": dims[0], "input_height": dims[1], "input_channels": channels,
                  "output_bits": int(q.bitwidth), "output_signed": int(bool(q.signed))}
        variables = {"scales": broadcast(scales, channels, np.float32, f"{q.name} scales"),
                     "zero_points": broadcast(zero_points, channels, np.uint8,
                                              f"{q.name} zero points")}
        ctx.quantizer = ctx.add("Quantizer", q.name, params, variables, [], dims)

"""Layer types the timing model treats apart: the model input and the host-side layers.

Both have no NP (``HW_KIND`` "none"); the input enters through the event DMA, the software
layers run on the host after the chip.  The NP kinds come from ``Layer.HW_KIND``
(:data:`nsoc.hardware.timing.geometry.KINDS`).
"""
from __future__ import annotations

SOURCE_TYPES = frozenset({"Quantizer", "InputData"})   # the model input: no NP, no time
SOFTWARE_TYPES = frozenset({"Dequantizer"})            # run by the host after the chip

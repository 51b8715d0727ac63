"""The smallest device a model fits on (Akida's ``compute_min_device``) and program sizes.

``compute_min_device`` (Akida 2.0, as akida 2.19 computes it; the reference cases hold its
results): a custom IP (:func:`~nsoc.hardware.device.create_device`) with as many CNPs as the
model's layers need at their fewest NPs in one pass, one FNP per dense layer (the first an
FNP2, as ``create_device`` builds them), one skip-DMA channel per Add/Concatenate and the HRC
when the model starts with an input convolution; the model is then mapped AllNps on it, so
the NPs that round the device up to whole nodes of 4 spread the layers (reference cases:
DS-CNN 8 NPs, a 64-filter pooled layer on 2 NPs of 32 once the device has 2 spare NPs).
"""
from __future__ import annotations

from ...errors import MappingError
from ..device import create_device
from ..types import Device
from .constraints import FNP_TYPES, HRC_TYPES, SKIP_TYPES, MapConstraints
from .memory import skip_buffer_count, skip_tensor_bytes
from .requirements import requirement
from .rules import Unmappable


def min_device_counts(model, sram_size=None,
                      constraints: MapConstraints | None = None) -> tuple[int, int, int, bool]:
    """(CNPs, FNPs, skip-DMA channels, HRC) the model needs at its fewest NPs in one pass."""
    cons = constraints or MapConstraints()
    probe = create_device(1, 1, 1, sram_size=sram_size, ip_version=model.ip_version)
    n_cnp = n_fnp = n_skip = 0
    hrc = False
    for layer in model.layers:
        if layer.TYPE in HRC_TYPES:
            hrc = True
        elif layer.TYPE in FNP_TYPES:
            n_fnp += 1
        elif layer.TYPE in SKIP_TYPES:
            n_skip += 1
        try:
            req = requirement(layer, model, probe, cons)
        except Unmappable as exc:
            raise MappingError(f"Cannot map layer '{layer.name}'. {exc}") from None
        if req.kind == "cnp":
            n_cnp += req.count(req.cap)
    return n_cnp, n_fnp, n_skip, hrc


def compute_min_device(model, sram_size=None,
                       constraints: MapConstraints | None = None) -> Device:
    """The smallest Akida 2.0 device ``model`` maps on in one pass (see the module doc).

    Raises MappingError for an Akida 1.0 model (Akida computes it for 2.0 models only) or a
    layer no NP can run."""
    if model.ip_version != "v2":
        raise MappingError("compute_min_device works for Akida 2.0 models only; the model is "
                           "Akida 1.0: pick AKD1000, AKD1500 or TwoNodesIPv1, or re-convert "
                           "it with --target v2.")
    n_cnp, n_fnp, n_skip, hrc = min_device_counts(model, sram_size, constraints)
    return create_device(n_cnp, n_fnp, n_skip, include_hrc=hrc, sram_size=sram_size,
                         ip_version="v2", name="compute_min_device")


#: Bytes of a hardware sequence's program besides its NPs' records (the program header; corpus:
#: a one-NP v1 sequence's ``program_size`` minus its ``program_memory``).
PROGRAM_HEADER_BYTES = 484


def np_program_bytes(component, layer, ip_version: str) -> int:
    """Bytes one NP adds to a sequence's program: its weights as stored in the program (v1:
    one 64-bit word per 50-bit weight word, v2: 16 bytes per 100-bit word; FNP weights as
    held) plus its registers (v1 CNP: 8 bytes per filter and 224; FNP: 216, 8 bytes per unit
    and, for external weights, the weights themselves).  Estimated from the corpus' one-layer
    sequences (exact on the v1 CNP and FNP3 ones; see ``tools/check_mapcorpus.py
    --program``)."""
    m = component.mem_info
    if component.type == "HRC":
        return m.get("weight_size", 0) + 160
    if component.type.startswith("FNP"):
        return m.get("weight_size", 0) + m.get("external_size", 0) + 216 + 8 * component.filters
    word_bits, stored = (50, 8) if ip_version == "v1" else (100, 16)
    words = -(-m.get("weight_size", 0) * 8 // word_bits)
    regs = 8 * component.filters + (232 if layer.TYPE == "SeparableConvolutional" else 224)
    if ip_version == "v2":
        regs = 64 + 9 * layer.input_dims[2] if layer.TYPE == "Conv2D" else 328
    return words * stored + regs


def program_size(sequence, model, ip_version: str) -> int:
    """Estimated bytes of a hardware sequence's program (Akida's ``len(sequence.program)``)."""
    if sequence.backend != "Hardware":
        return 0
    total = PROGRAM_HEADER_BYTES
    for p in sequence.passes:
        for lm in p:
            layer = model.get_layer(lm.layer)
            total += sum(np_program_bytes(c, layer, ip_version) for c in lm.nps)
    return total


def assign_skip_memory(sequence, model) -> None:
    """Set the external memory of each skip-DMA store of a hardware sequence: the merge
    layer's earliest inbound (the tensor that waits for the other branch) times
    :func:`~nsoc.hardware.mapping.memory.skip_buffer_count`."""
    index = {lay.name: i for i, lay in enumerate(model.layers)}
    for p in sequence.passes:
        for lm in p:
            if not lm.skipdma_stores:
                continue
            merge = model.get_layer(lm.layer)
            stored = min((n for n in merge.inbounds if n in index), key=index.get, default=None)
            if stored is None:
                continue
            between = index[merge.name] - index[stored] - 1
            size = skip_tensor_bytes(model.get_layer(stored)) * \
                skip_buffer_count(merge.TYPE, between, len(sequence.passes))
            for c in lm.skipdma_stores:
                c.mem_info["external_size"] = size

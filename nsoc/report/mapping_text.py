"""Text views of a :class:`~nsoc.hardware.types.Mapping`: per-layer NP allocation, memory and
mesh pictures (``nsoc map``)."""
from __future__ import annotations

from ..hardware.types import Mapping


def _label(i: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return alphabet[i] if i < len(alphabet) else "+"


def mesh_picture(mapping: Mapping, pass_index: int = 0, sequence_index: int | None = None) -> str:
    """A text picture of the mesh for one pass: each node ``[....]`` shows its NP ids 0-3 with
    the letter of the layer on it ('.' free, ' ' no NP, '#' a DMA endpoint); plus a legend."""
    dev = mapping.device
    seqs = [s for s in mapping.sequences if s.backend == "Hardware"]
    if not seqs:
        return "(no hardware sequence)"
    seq = seqs[sequence_index or 0]
    p = seq.passes[pass_index]
    owner, legend = {}, []
    k = 0
    for lm in p:
        if not lm.nps:
            continue
        letter = _label(k)
        k += 1
        legend.append(f"  {letter} = {lm.layer} ({lm.type}, {len(lm.nps)} NP)")
        for comp in lm.nps:
            owner[(comp.ident.col, comp.ident.row, comp.ident.id)] = letter
    present = {(n.ident.col, n.ident.row, n.ident.id) for n in dev.mesh.nps}
    dma = {(dev.mesh.dma_event.col, dev.mesh.dma_event.row, dev.mesh.dma_event.id),
           (dev.mesh.dma_conf.col, dev.mesh.dma_conf.row, dev.mesh.dma_conf.id)}
    nodes = {(c, r) for c, r, _ in present | dma}
    cols = sorted({c for c, _ in nodes})
    rows = sorted({r for _, r in nodes})
    lines = [f"{seq.name} pass {pass_index + 1}/{len(seq.passes)} on {dev.name}"]
    if dev.mesh.hrc is not None:
        hrc = owner.get((dev.mesh.hrc.ident.col, dev.mesh.hrc.ident.row, dev.mesh.hrc.ident.id))
        lines.append(f"HRC [{hrc or '.'}]")
    lines.append("       " + "".join(f"col {c:<3}  " for c in cols))
    for r in rows:
        cells = []
        for c in cols:
            if (c, r) not in nodes:
                cells.append(" " * 9)
                continue
            s = "".join(owner.get((c, r, i), ".") if (c, r, i) in present
                        else "#" if (c, r, i) in dma else " " for i in range(4))
            cells.append(f"[{s}]    ")
        lines.append(f"row {r:<2} " + "".join(cells).rstrip())
    return "\n".join(lines + legend)


def format_mapping(mapping: Mapping) -> str:
    """Per-layer NP allocation, sequences and passes, memory per NP and totals, mesh pictures."""
    dev = mapping.device
    out = [(f"Device {dev.name} ({dev.ip_version}, {len(dev.mesh.nps)} NPs, "
            f"{len(dev.mesh.nodes)} nodes), mode {mapping.mode}")]
    for seq in mapping.sequences:
        out.append(f"\nSequence {seq.name} ({seq.backend}, {len(seq.passes)} pass"
                   f"{'es' if len(seq.passes) > 1 else ''})")
        for pi, p in enumerate(seq.passes):
            if seq.backend == "Hardware":
                out.append(f"  Pass {pi + 1}")
            for lm in p:
                if not lm.nps:
                    extra = " skip-DMA" if lm.skipdma_stores else ""
                    out.append(f"    {lm.layer:<24} {lm.type:<22} no NP{extra}")
                    continue
                out.append(f"    {lm.layer:<24} {lm.type:<22} {len(lm.nps)} NP")
                for c in lm.nps:
                    m = c.mem_info
                    ext = f" ext {m['external_size']:>7} B" if m.get("external_size") else ""
                    out.append(f"      ({c.ident.col},{c.ident.row},{c.ident.id}) {c.type:<5} "
                               f"filters {c.filters:>4} @{c.start_neuron:<4} in "
                               f"{m.get('input_size', 0):>6} B  w {m.get('weight_size', 0):>6} B"
                               f"{ext}")
    tot = mapping.memory_totals()
    out.append(f"\nComponents: {mapping.component_count}")
    out.append(f"Memory: input {tot['input_size']} B, weights {tot['weight_size']} B, "
               f"external {tot['external_size']} B")
    for si, seq in enumerate(s for s in mapping.sequences if s.backend == "Hardware"):
        for pi in range(len(seq.passes)):
            out.append("")
            out.append(mesh_picture(mapping, pi, si))
    return "\n".join(out)


def min_device_line(device) -> str:
    """One line naming the smallest device a model fits on (``nsoc map --min-device``)."""
    from ..hardware.device import np_type_counts
    counts = ", ".join(f"{n} {t}" for t, n in sorted(np_type_counts(device).items()))
    hrc = " + HRC" if device.mesh.hrc is not None else ""
    skip = f" + {sum(s.ident.channel for s in device.mesh.skip_dmas)} skip-DMA channels" \
        if device.mesh.skip_dmas else ""
    return (f"Smallest device (compute_min_device): {len(device.mesh.nps)} NPs in "
            f"{len(device.mesh.nodes)} node(s){hrc}{skip} [{counts}]; {device.description}")

"""The device table of ``nsoc devices``."""
from __future__ import annotations


def format_devices(devices) -> str:
    """One line per :class:`~nsoc.hardware.types.Device`: IP and hardware versions, nodes, NPs,
    HRC, skip-DMA channels, per-NP SRAM and the NP types."""
    from ..hardware.device import np_type_counts
    lines = [f"{'device':<17}{'ip':<4}{'hw version':<15}{'nodes':>6}{'NPs':>5}  {'HRC':<4}"
             f"{'skip':>5}  {'SRAM in/w (B)':<14} NP types"]
    for d in devices:
        m = d.mesh
        types = ", ".join(f"{k} x{v}" for k, v in sorted(np_type_counts(d).items(),
                                                            key=lambda kv: -kv[1]))
        lines.append(f"{d.name:<17}{d.ip_version:<4}{d.hw_version:<15}{len(m.nodes):>6}"
                     f"{len(m.nps):>5}  {'yes' if m.hrc else 'no':<4}{len(m.skip_dmas):>5}  "
                     f"{m.np_sram_size.input_bytes}/{m.np_sram_size.weight_bytes:<8} {types}")
    return "\n".join(lines)

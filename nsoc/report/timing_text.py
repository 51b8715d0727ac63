"""Terminal summary of a timing run (``nsoc run --timing``): latency, fps, per-layer cycles."""
from __future__ import annotations


def format_timing(result) -> str:
    """A short summary of a :class:`~nsoc.hardware.timing_result.TimingResult`: latency,
    sustained fps, programming, per-layer cycles and events, the critical path."""
    r = result
    lines = [f"{r.device} {r.clock_mode} @ {r.clock_hz / 1e6:.1f} MHz, {r.n_frames} frame(s)",
             f"latency (frame 0): {r.latency_cycles:,} cycles = {r.latency_us:,.1f} us",
             f"sustained: {r.fps:,.1f} fps (interval {r.interval_cycles:,} cycles)"]
    if r.program_cycles:
        lines.append(f"programming: {r.program_cycles:,} cycles (once, before the first frame)")
    if r.reconfig_cycles:
        lines.append(f"reconfiguration: {r.reconfig_cycles:,} cycles per frame")
    lines.append(f"{'layer':<28}{'NPs':>4}{'busy':>12}{'stall':>10}{'ev in':>11}"
                 f"{'ev out':>11}{'sparsity':>9}")
    for lay in r.layers:
        lines.append(f"{lay.name[:27]:<28}{lay.n_nps:>4}{lay.busy_cycles:>12,}"
                     f"{lay.stall_cycles:>10,}{lay.events_in:>11,}{lay.events_out:>11,}"
                     f"{lay.sparsity:>9.3f}")
    if r.critical_path:
        lines.append("critical path: " + " -> ".join(r.critical_path))
    return "\n".join(lines)

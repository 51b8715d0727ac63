"""Terminal summary of a report (plain text table, fixed width)."""
from __future__ import annotations


def _fmt_uj(value: float) -> str:
    return f"{value / 1e3:,.3f} mJ" if value >= 1e3 else f"{value:,.3f} uJ"


def format_summary(data: dict) -> str:
    """Header (device, clock, latency, fps, energy, power) and a per-layer table."""
    dev = data["device"]["name"]
    lines = [
        f"nsoc report: {dev} ({data['clock_mode']}, {data['clock_hz'] / 1e6:,.1f} MHz), "
        f"{data['n_frames']} frame(s), energy table {data.get('energy_table', '?')}",
        f"latency (frame 0) {data['latency_cycles']:>14,} cycles {data['latency_us']:>14,.1f} us",
        f"throughput        {data['fps']:>14,.2f} fps    interval "
        f"{data['interval_cycles']:,} cycles",
        f"energy per frame  {_fmt_uj(data['energy_per_frame_uj']):>17} dynamic, "
        f"{_fmt_uj(data['total_energy_per_frame_uj'])} with static",
        f"power             {data['power_mw']['chip']:>14,.2f} mW chip, "
        f"{data['power_mw']['board']:,.2f} mW board",
        f"events per frame  {data['events']['out_per_frame']:>14,.0f} out, "
        f"sparsity {data['sparsity']:.3f}",
    ]
    head = (f"{'layer':<24}{'type':<16}{'NPs':>4}{'busy cyc':>12}{'stall cyc':>11}"
            f"{'ev out':>11}{'sparsity':>9}{'energy uJ':>12}{'%':>6}")
    lines += ["", head, "-" * len(head)]
    total = data["energy_per_frame_uj"] or 1.0
    for lay in data["layers"]:
        lines.append(f"{lay['name'][:23]:<24}{lay['type'][:15]:<16}{lay['n_nps']:>4}"
                     f"{lay['busy_cycles']:>12,}{lay['stall_cycles']:>11,}"
                     f"{lay['events_out']:>11,}{lay['sparsity']:>9.3f}"
                     f"{lay['energy_uj']:>12,.3f}{100 * lay['energy_uj'] / total:>6.1f}")
    lines += ["", "energy breakdown per frame:"]
    full = data["total_energy_per_frame_uj"] or 1.0
    for key, value in data["energy_breakdown_uj"].items():
        if value:
            lines.append(f"  {key:<20}{value:>14,.3f} uJ {100 * value / full:>6.1f}%")
    return "\n".join(lines)

"""Terminal text of an energy estimate (:class:`nsoc.hardware.energy.EnergyResult`)."""
from __future__ import annotations


def format_energy(result) -> str:
    """Energy per frame, power, and the breakdown by action."""
    lines = [f"energy ({result.table} table) at {result.fps:,.1f} fps",
             f"chip dynamic energy per frame: {result.energy_per_frame_uj:,.3f} uJ "
             f"(+ static {result.static_energy_per_frame_uj:,.3f} uJ)",
             f"power: chip {result.power_mw['chip']:,.2f} mW, "
             f"board {result.power_mw['board']:,.2f} mW"]
    total = result.total_energy_per_frame_uj or 1.0
    for key, value in result.energy_breakdown_uj.items():
        if value:
            lines.append(f"  {key:<20}{value:>14,.3f} uJ {100 * value / total:>6.1f}%")
    return "\n".join(lines)

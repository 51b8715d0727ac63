"""The standard benchmark suite of ``nsoc bench``: every zoo entry (default parameters, each of
its Akida versions) on every built-in device of that version, in every mapping mode.

The suite is an ordinary sweep spec (:func:`bench_spec`), so ``nsoc bench -o DIR`` writes the
same files as ``nsoc sweep`` and resumes the same way.
"""
from __future__ import annotations

from ..errors import InputError

BENCH_MODES = ("AllNps", "Minimal", "HwPr")
BENCH_FRAMES = 4


def bench_spec(frames: int = BENCH_FRAMES, models: list[str] | None = None,
               devices: list[str] | None = None, modes=BENCH_MODES) -> dict:
    """The spec document of the standard suite (``models``/``devices`` restrict it)."""
    from .. import zoo
    from ..hardware.device import list_devices
    entries = zoo.entries()
    names = [e.name for e in entries]
    if models:
        unknown = sorted(set(models) - set(names))
        if unknown:
            raise InputError(f"unknown zoo model(s) {unknown}; the zoo has {', '.join(names)}")
        entries = [e for e in entries if e.name in models]
    all_devices = list_devices()
    if devices:
        lower = {d.lower(): d for d in all_devices}
        unknown = sorted(d for d in devices if d.lower() not in lower
                         and not d.lower().startswith("custom:"))
        if unknown:
            raise InputError(f"unknown device(s) {unknown}; built-in devices are "
                             f"{', '.join(all_devices)}")
        all_devices = [lower.get(d.lower(), d) for d in devices]
    if frames < 1:
        raise InputError(f"--frames must be >= 1, got {frames}")
    return {"name": "nsoc bench (standard suite)", "frames": [frames], "devices": all_devices,
            "modes": list(modes), "clock_modes": ["Performance"],
            "models": [{"zoo": e.name, "target": list(e.targets)} for e in entries],
            "inputs": [{"random": True, "seed": 0}]}


__all__ = ["bench_spec", "BENCH_MODES", "BENCH_FRAMES"]

"""``nsoc devices``: the built-in Akida devices with their NP counts and types."""
from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("devices", help="list the built-in Akida devices",
                              description="List the built-in devices: IP version, nodes, NPs "
                                          "by type, HRC, skip-DMAs, per-NP SRAM.")
    p.add_argument("--json", action="store_true", help="print the device files' contents")
    p.set_defaults(func=run)


def format_devices() -> str:
    """The device table printed by ``nsoc devices``."""
    from ..hardware.device import get_device, list_devices, np_type_counts
    lines = [f"{'device':<17}{'ip':<4}{'hw version':<15}{'nodes':>6}{'NPs':>5}  {'HRC':<4}"
             f"{'skip':>5}  {'SRAM in/w (B)':<14} NP types"]
    for name in list_devices():
        d = get_device(name)
        m = d.mesh
        types = ", ".join(f"{k} x{v}" for k, v in sorted(np_type_counts(d).items(),
                                                            key=lambda kv: -kv[1]))
        lines.append(f"{name:<17}{d.ip_version:<4}{d.hw_version:<15}{len(m.nodes):>6}"
                     f"{len(m.nps):>5}  {'yes' if m.hrc else 'no':<4}{len(m.skip_dmas):>5}  "
                     f"{m.np_sram_size.input_bytes}/{m.np_sram_size.weight_bytes:<8} {types}")
    return "\n".join(lines)


def run(args) -> int:
    if args.json:
        from ..hardware.device import device_to_dict, get_device, list_devices
        print(json.dumps([device_to_dict(get_device(n)) for n in list_devices()], indent=1))
    else:
        print(format_devices())
    return 0

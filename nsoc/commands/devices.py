"""``nsoc devices``: the built-in Akida devices with their NP counts and types."""
from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("devices", help="list the built-in Akida devices",
                              description="List the built-in devices: IP version, nodes, NPs "
                                          "by type, HRC, skip-DMAs, per-NP SRAM.")
    p.add_argument("--json", action="store_true", help="print the device files' contents")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.json:
        from ..hardware.device import device_to_dict, get_device, list_devices
        print(json.dumps([device_to_dict(get_device(n)) for n in list_devices()], indent=1))
    else:
        from ..hardware.device import get_device, list_devices
        from ..report.devices_text import format_devices
        print(format_devices([get_device(n) for n in list_devices()]))
    return 0

"""``nsoc map MODEL.fbz --device NAME``: place a model on an Akida device and show where it runs.

Prints the per-layer NP allocation (NP ident, type, filters, input and weight memory), the
sequences and passes, the memory totals and a picture of the mesh; ``--json`` prints the mapping
as the refcases' mapping.json entries, or ``{"error": ...}`` with exit status 2.
"""
from __future__ import annotations

import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "map", help="map a model onto an Akida device (NPs, sequences, passes, memory)",
        description="Map an nsoc model onto a built-in device (see `nsoc devices`) or a custom "
                    "IP ('custom:CNPS,FNPS[,SKIP_DMA_CHANNELS][,v1|v2]').")
    p.add_argument("model", help="nsoc model file (.fbz)")
    p.add_argument("--device", "-d", default="AKD1000",
                   help="device name or custom:CNPS,FNPS[,SKIP][,v1|v2] (default AKD1000)")
    p.add_argument("--mode", choices=("AllNps", "Minimal", "HwPr"), default="AllNps",
                   help="AllNps spreads layers over free NPs (default); Minimal uses the fewest "
                        "NPs; HwPr gives each layer its own pass (partial reconfiguration)")
    p.add_argument("--hw-only", action="store_true",
                   help="fail instead of running unmappable layers in software")
    p.add_argument("--json", action="store_true", help="print the mapping as JSON")
    p.set_defaults(func=run)


def map_and_format(model, device, mode="AllNps", hw_only=False, as_json=False) -> tuple[int, str]:
    """Map ``model`` and return (exit status, text to print); the command's testable core."""
    from ..errors import NsocError
    from ..hardware.mapping import map_model
    from ..report.mapping_text import format_mapping
    try:
        mapping = map_model(model, device, hw_only=hw_only, mode=mode)
    except NsocError as exc:
        if as_json:
            return 2, json.dumps({"error": str(exc)})
        raise
    if as_json:
        return 0, json.dumps(mapping.to_dict(), indent=1)
    return 0, format_mapping(mapping)


def run(args) -> int:
    from ..errors import NsocError
    from ..model import load
    try:
        model = load(args.model)
    except (NsocError, OSError) as exc:
        if not args.json:
            raise
        message = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and \
            exc.filename else str(exc)
        print(json.dumps({"error": message}))
        return 2
    status, text = map_and_format(model, args.device, args.mode, args.hw_only, args.json)
    print(text, file=sys.stdout)
    return status

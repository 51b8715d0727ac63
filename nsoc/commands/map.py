"""``nsoc map MODEL.fbz --device NAME``: place a model on an Akida device and show where it runs.

Prints the per-layer NP allocation (NP ident, type, filters, input and weight memory), the
sequences and passes, the memory totals and a picture of the mesh; ``--json`` prints the mapping
as the refcases' mapping.json entries, or ``{"error": ...}`` with exit status 2.
``--min-device`` maps on the smallest Akida 2.0 device the model fits on (Akida's
``compute_min_device``) and says its size.
"""
from __future__ import annotations

import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "map", help="map a model onto an Akida device (NPs, sequences, passes, memory)",
        description="Map an nsoc model onto a built-in device (see `nsoc devices`) or a custom "
                    "IP ('custom:CNPS,FNPS[,SKIP_DMA_CHANNELS][,v1|v2]').")
    p.add_argument("model", help="nsoc model (.fbz), or a BrainChip Akida .fbz (nsoc[akida])")
    p.add_argument("--device", "-d", default="AKD1000",
                   help="device name or custom:CNPS,FNPS[,SKIP][,v1|v2] (default AKD1000)")
    p.add_argument("--mode", choices=("AllNps", "Minimal", "HwPr"), default="AllNps",
                   help="AllNps spreads layers over free NPs (default); Minimal uses the fewest "
                        "NPs; HwPr gives each layer its own pass (partial reconfiguration)")
    p.add_argument("--hw-only", action="store_true",
                   help="fail instead of running unmappable layers in software")
    p.add_argument("--json", action="store_true", help="print the mapping as JSON")
    p.add_argument("--min-device", action="store_true",
                   help="map on the smallest Akida 2.0 device the model fits on in one pass "
                        "(Akida's compute_min_device) instead of --device")
    p.set_defaults(func=run)


def map_and_format(model, device, mode="AllNps", hw_only=False, as_json=False,
                   min_device=False) -> tuple[int, str]:
    """Map ``model`` and return (exit status, text to print); the command's testable core."""
    from ..errors import NsocError
    from ..hardware.mapping import compute_min_device, map_model
    from ..report.mapping_text import format_mapping, min_device_line
    try:
        if min_device:
            device = compute_min_device(model)
        mapping = map_model(model, device, hw_only=hw_only, mode=mode)
    except NsocError as exc:
        if as_json:
            return 2, json.dumps({"error": str(exc)})
        raise
    if as_json:
        doc = mapping.to_dict()
        if min_device:
            doc["min_device"] = {"n_nps": len(mapping.device.mesh.nps),
                                 "description": mapping.device.description}
        return 0, json.dumps(doc, indent=1)
    text = format_mapping(mapping)
    return 0, (min_device_line(mapping.device) + "\n" + text) if min_device else text


def run(args) -> int:
    from ..errors import NsocError
    from ..interop import load_any as load
    try:
        model = load(args.model)
    except (NsocError, OSError) as exc:
        if not args.json:
            raise
        message = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and \
            exc.filename else str(exc)
        print(json.dumps({"error": message}))
        return 2
    status, text = map_and_format(model, args.device, args.mode, args.hw_only, args.json,
                                  args.min_device)
    print(text, file=sys.stdout)
    return status

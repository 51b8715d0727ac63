"""``nsoc zoo list|build``: the model zoo (BrainChip's architectures as nsoc models)."""
from __future__ import annotations

import json
import os
import sys

from ..errors import InputError


def _all_param_names() -> list:
    from .. import zoo
    names = []
    for e in zoo.entries():
        for p in e.all_params:
            if p.name not in names:
                names.append(p.name)
    return names


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "zoo", help="list or build the model zoo's architectures",
        description="BrainChip's model-zoo architectures (AkidaNet, DS-CNN, MobileNet, YOLO, a "
                    "1-D ECG CNN) built as nsoc models with random weights valid for their bit "
                    "widths and calibrated activations; no TensorFlow.")
    sub = p.add_subparsers(dest="zoo_command", metavar="{list,build}")
    sub.required = True
    lp = sub.add_parser("list", help="the entries and their parameters")
    lp.add_argument("name", nargs="?", help="show one entry's parameters in detail")
    lp.add_argument("--json", action="store_true", help="machine-readable list")
    lp.set_defaults(func=run_list)
    bp = sub.add_parser(
        "build", help="build an entry and save it as .fbz",
        description="Build a zoo entry, e.g. `nsoc zoo build akidanet --alpha 0.5 --size 224 "
                    "--target v1 -o a.fbz`.  `nsoc zoo list` shows each entry's parameters.")
    bp.add_argument("name", help="zoo entry (see `nsoc zoo list`)")
    bp.add_argument("--target", default="v2", choices=("v1", "v2"),
                    help="Akida IP version (default v2)")
    bp.add_argument("-o", "--output", help="output .fbz (default NAME_TARGET.fbz)")
    bp.add_argument("--force", action="store_true", help="overwrite an existing output")
    for name in _all_param_names():
        bp.add_argument(f"--{name.replace('_', '-')}", dest=f"zoo_{name}", default=None,
                        metavar="V", help="entry parameter (see `nsoc zoo list`)")
    bp.set_defaults(func=run_build)


def run_list(args) -> int:
    from .. import zoo
    from ..report.zoo_text import format_zoo_params, format_zoo_table
    if args.json:
        entries = [zoo.get(args.name)] if args.name else zoo.entries()
        print(json.dumps([{
            "name": e.name, "summary": e.summary, "source": e.source,
            "targets": list(e.targets), "defaults": e.defaults(), "devices": e.devices,
            "unmappable": e.unmappable} for e in entries], indent=1))
    elif args.name:
        print(format_zoo_params(zoo.get(args.name), zoo.COMMON_PARAMS))
    else:
        print(format_zoo_table(zoo.entries(), zoo.COMMON_PARAMS))
    return 0


def _build_with_progress(entry, target: str, params: dict):
    """Build, with a tqdm bar over the calibrated layers when stderr is a terminal."""
    from ..zoo.builder import build_progress
    try:
        if not sys.stderr.isatty():
            raise ImportError
        from tqdm import tqdm
    except ImportError:
        print(f"building {entry.name} for Akida {target} ...", file=sys.stderr)
        return entry.build(target, **params)
    with tqdm(desc=f"{entry.name} ({target})", unit=" layers", leave=False) as bar:
        def advance(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update(1)
        with build_progress(advance):
            return entry.build(target, **params)


def run_build(args) -> int:
    from .. import zoo
    from ..report.zoo_text import format_built
    entry = zoo.get(args.name)
    params = {k[4:]: v for k, v in vars(args).items() if k.startswith("zoo_") and v is not None
              and k != "zoo_command"}
    entry.resolve(args.target, params)            # every parameter checked before building
    out = args.output or f"{entry.name}_{args.target}.fbz"
    if os.path.isdir(out):
        raise InputError(f"output {out} is a directory: give a file name with -o")
    if os.path.exists(out) and not args.force:
        raise InputError(f"output {out} exists: add --force to overwrite it or choose -o")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise InputError(f"output folder {parent} does not exist: create it or choose -o")
    model = _build_with_progress(entry, args.target, params)
    model.save(out)
    print(format_built(out, model))
    return 0

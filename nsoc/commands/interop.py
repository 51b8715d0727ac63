"""``nsoc import`` and ``nsoc export``: BrainChip Akida ``.fbz`` files <-> nsoc ``.fbz`` files,
through the akida package's public Python API (``pip install 'nsoc[akida]'``)."""
from __future__ import annotations

import os

from ..errors import InputError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "import", help="import a BrainChip Akida model (.fbz) as an nsoc model",
        description="Read a BrainChip Akida .fbz with the akida package (layers, parameters, "
                    "variables) and save the equivalent nsoc .fbz, which computes the same "
                    "outputs bit for bit. Needs pip install 'nsoc[akida]'.")
    p.add_argument("model", help="BrainChip Akida model (.fbz)")
    p.add_argument("-o", "--output", help="nsoc model to write (default: MODEL_nsoc.fbz)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=run_import)

    p = subparsers.add_parser(
        "export", help="export an nsoc model as a BrainChip Akida model (.fbz)",
        description="Build the equivalent akida.Model with akida's public constructors and "
                    "set_variable, and save it with akida's own save: a file the Akida runtime "
                    "loads. Needs pip install 'nsoc[akida]'.")
    p.add_argument("model", help="nsoc model (.fbz)")
    p.add_argument("-o", "--output", help="Akida model to write (default: MODEL_akida.fbz)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=run_export)


def _output(args, suffix: str) -> str:
    out = args.output or f"{os.path.splitext(args.model)[0]}{suffix}.fbz"
    if not os.path.isfile(args.model):
        raise InputError(f"model file not found: {args.model}")
    if os.path.exists(out) and os.path.realpath(out) == os.path.realpath(args.model):
        raise InputError(f"output path {out} is the model file; choose another -o")
    if os.path.exists(out) and not args.force:
        raise InputError(f"output file {out} already exists; pass --force to overwrite it")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise InputError(f"output directory {parent} does not exist; create it first")
    return out


def run_import(args) -> int:
    from ..interop import from_akida, require_akida
    require_akida()
    out = _output(args, "_nsoc")
    model = from_akida(args.model)
    model.save(out)
    print(f"{args.model} (Akida {model.ip_version}, {len(model.layers)} layers) -> {out}")
    return 0


def run_export(args) -> int:
    from ..interop import require_akida, save_akida
    from ..model import load
    require_akida()
    out = _output(args, "_akida")
    model = load(args.model)
    save_akida(model, out)
    print(f"{args.model} -> {out} (BrainChip Akida {model.ip_version} model, "
          f"{len(model.layers)} layers)")
    return 0

"""``nsoc convert`` and ``nsoc check``: the converter's command line (TensorFlow loads only when a
command runs, without its log lines unless ``--verbose``)."""
from __future__ import annotations

import os
import sys
import warnings

from nsoc.errors import InputError

from .tfquiet import quiet_tensorflow

_TARGETS = ("v1", "v2")


def add_verbose_argument(parser) -> None:
    """``--verbose``: let TensorFlow print its own log lines (hidden by default)."""
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's own log lines (hidden by default)")


def check_new_output(path: str, force: bool) -> None:
    """Refuse (one line, exit 2) to replace an existing file without --force; checked before
    any long work."""
    if os.path.exists(path) and not force:
        raise InputError(f"output file {path} already exists; pass --force to overwrite it")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise InputError(f"output directory {parent} does not exist; create it first")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "convert", help="convert a quantized Keras model (.h5) to an nsoc model (.fbz)",
        description="Convert a quantizeml-quantized tf_keras model to an nsoc .fbz model for "
                    "Akida 2.0 (default) or 1.0. Writes MODEL.fbz beside the input unless -o.")
    p.add_argument("-m", "--model", required=True, help="the source model (.h5)")
    p.add_argument("-o", "--output", help="output .fbz path (default: beside the model)")
    p.add_argument("--target", choices=_TARGETS,
                   help="Akida version (default: $NSOC_TARGET_AKIDA_VERSION, "
                        "$CNN2SNN_TARGET_AKIDA_VERSION, else v2)")
    p.add_argument("-sc", "--scale", type=float,
                   help="input scale of legacy cnn2snn models (ignored for quantizeml models)")
    p.add_argument("-sh", "--shift", type=float,
                   help="input shift of legacy cnn2snn models (ignored for quantizeml models)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    add_verbose_argument(p)
    p.set_defaults(func=run_convert)

    c = subparsers.add_parser(
        "check", help="check that a float Keras model quantizes, converts and maps",
        description="Quantize a float tf_keras model with one sample (an already quantized "
                    "quantizeml or legacy CNN2SNN model is used as it is), convert it and, with "
                    "--device, map it; report the first incompatibility with its fix.")
    c.add_argument("-m", "--model", required=True,
                   help="the float (or quantized) model (.h5)")
    c.add_argument("--target", choices=_TARGETS, help="Akida version (default as for convert)")
    c.add_argument("--device", help="device to map onto: a built-in name (see nsoc devices) or "
                                    "custom:CNPS,FNPS[,SKIP][,v1|v2]")
    c.add_argument("--input-dtype", default="uint8", choices=("uint8", "int8"),
                   help="model input format (default uint8)")
    add_verbose_argument(c)
    c.set_defaults(func=run_check)


def to_version(text):
    from .version import to_version as _to_version
    return _to_version(text)


def _target(args):
    from .version import get_akida_version
    return to_version(args.target) if args.target else get_akida_version()


def run_convert(args) -> int:
    from .loading import check_keras_path
    check_keras_path(args.model)
    out = args.output or os.path.splitext(args.model)[0] + ".fbz"
    check_new_output(out, args.force)
    quiet_tensorflow(args.verbose)
    from . import set_akida_version
    from .conversion import as_keras_model, convert, is_quantizeml
    keras_model = as_keras_model(args.model)
    scaling = None
    if args.scale is not None or args.shift is not None:
        if is_quantizeml(keras_model):
            warnings.warn("-sc/--scale and -sh/--shift are deprecated and apply only to legacy "
                          "cnn2snn models; they are ignored for this quantizeml model",
                          DeprecationWarning, stacklevel=1)
            print("nsoc convert: warning: -sc/-sh are ignored for quantizeml models "
                  "(deprecated)", file=sys.stderr)
        else:
            scaling = (args.scale if args.scale is not None else 1.0,
                       args.shift if args.shift is not None else 0.0)
    with set_akida_version(_target(args)):
        model = convert(keras_model, input_scaling=scaling)
    model.save(out)
    print(f"{args.model} -> {out} (Akida {model.ip_version}, {len(model.layers)} layers)")
    return 0


def run_check(args) -> int:
    from .loading import check_keras_path, keras_family
    check_keras_path(args.model)
    device = None
    if args.device:
        from nsoc.hardware.device import get_device
        device = get_device(args.device)  # built-in name or custom:CNPS,FNPS[,SKIP][,v1|v2]
    family = keras_family(args.model) if args.model.endswith(".h5") else "keras"
    quiet_tensorflow(args.verbose)
    from . import check_model_compatibility, set_akida_version
    from .conversion import as_keras_model
    model = as_keras_model(args.model)
    target = _target(args)
    if family == "legacy" and args.target is None:
        target = to_version("v1")  # legacy CNN2SNN models convert to Akida 1.0 only
    with set_akida_version(target) as version:
        check_model_compatibility(model, device=device, input_dtype=args.input_dtype)
    where = f" and maps on {args.device}" if args.device else ""
    steps = "converts" if family != "keras" else "quantizes, converts"
    print(f"{args.model}: compatible with Akida {version} ({steps}{where})")
    return 0

"""``nsoc convert`` and ``nsoc check``: the converter's command line (TensorFlow loads only when a
command runs)."""
from __future__ import annotations

import os
import sys
import warnings

from nsoc.errors import ConversionError

_TARGETS = ("v1", "v2")


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
    p.set_defaults(func=run_convert)

    c = subparsers.add_parser(
        "check", help="check that a float Keras model quantizes, converts and maps",
        description="Quantize a float tf_keras model with one sample, convert it and, with "
                    "--device, map it; report the first incompatibility with its fix.")
    c.add_argument("-m", "--model", required=True, help="the float model (.h5)")
    c.add_argument("--target", choices=_TARGETS, help="Akida version (default as for convert)")
    c.add_argument("--device", help="built-in virtual device name to map onto")
    c.add_argument("--input-dtype", default="uint8", choices=("uint8", "int8"),
                   help="model input format (default uint8)")
    c.set_defaults(func=run_check)


def _quiet_tf() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _target(args):
    from .version import get_akida_version, to_version
    return to_version(args.target) if args.target else get_akida_version()


def run_convert(args) -> int:
    _quiet_tf()
    if not os.path.isfile(args.model):
        raise ConversionError(f"model file not found: {args.model}")
    from . import _is_quantizeml, _load_keras, convert, set_akida_version
    keras_model = _load_keras(args.model)
    scaling = None
    if args.scale is not None or args.shift is not None:
        if _is_quantizeml(keras_model):
            warnings.warn("-sc/--scale and -sh/--shift are deprecated and apply only to legacy "
                          "cnn2snn models; they are ignored for this quantizeml model",
                          DeprecationWarning, stacklevel=1)
            print("nsoc convert: warning: -sc/-sh are ignored for quantizeml models "
                  "(deprecated)", file=sys.stderr)
        else:
            scaling = (args.scale if args.scale is not None else 1.0,
                       args.shift if args.shift is not None else 0.0)
    out = args.output or os.path.splitext(args.model)[0] + ".fbz"
    with set_akida_version(_target(args)) as version:
        model = convert(keras_model, input_scaling=scaling)
    model.save(out)
    print(f"{args.model} -> {out} (Akida {version}, {len(model.layers)} layers)")
    return 0


def run_check(args) -> int:
    _quiet_tf()
    if not os.path.isfile(args.model):
        raise ConversionError(f"model file not found: {args.model}")
    import tf_keras

    from . import check_model_compatibility, set_akida_version
    try:
        model = tf_keras.models.load_model(args.model, compile=False)
    except Exception as exc:  # noqa: BLE001  (h5py/keras raise many types)
        raise ConversionError(f"cannot load Keras model '{args.model}': {exc}") from exc
    with set_akida_version(_target(args)) as version:
        check_model_compatibility(model, device=args.device, input_dtype=args.input_dtype)
    where = f" and maps on {args.device}" if args.device else ""
    print(f"{args.model}: compatible with Akida {version} (quantizes, converts{where})")
    return 0

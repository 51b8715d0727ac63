"""Deprecated CLI actions of the legacy CNN2SNN API: ``nsoc quantize``, ``nsoc reshape``,
``nsoc calibrate bc|adaround``.

TensorFlow is imported only when one of them runs (without its log lines unless ``--verbose``).
Each prints a deprecation note: QuantizeML (``quantizeml quantize``) is the supported way to
quantize models.  None replaces an existing output file without ``--force``.
"""
from __future__ import annotations

import os
import re
import sys

DEPRECATION = ("nsoc {action}: deprecated (legacy CNN2SNN API, Akida 1.0 only); use QuantizeML "
               "(quantizeml quantize / quantizeml.models.quantize) to quantize models instead.")

_SUFFIX = re.compile(r"^(.*)_iq\d+_wq\d+_aq\d+$")


def _start(action, args, out, check=None):
    """Print the deprecation note; before importing TensorFlow, fail on a missing model, an
    existing output (without --force) or ``check()``; then import TensorFlow quietly.  Returns
    what ``check`` returns."""
    print(DEPRECATION.format(action=action), file=sys.stderr)
    from ..commands import check_new_output
    from ..loading import check_keras_path
    check_keras_path(args.model)
    check_new_output(out, args.force)
    checked = check() if check is not None else None
    from ..tfquiet import quiet_tensorflow
    quiet_tensorflow(args.verbose)
    return checked


def _common(parser):
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's own log lines (hidden by default)")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "quantize", help="(deprecated) quantize a Keras model with the legacy CNN2SNN API",
        description="Quantize a Keras .h5 model (float or legacy-quantized) for Akida 1.0 and "
                    "save MODEL_iq<I>_wq<W>_aq<A>.h5 beside it. Deprecated: use QuantizeML.")
    p.add_argument("-m", "--model", required=True, help="the source Keras model (.h5)")
    p.add_argument("-wq", "--weight_quantization", type=int, default=4,
                   help="weight bits of all neural layers but the first (0: float)")
    p.add_argument("-aq", "--activ_quantization", type=int, default=4,
                   help="activation bits (0: float)")
    p.add_argument("-iq", "--input_weight_quantization", type=int, default=None,
                   help="weight bits of the first neural layer (default: as -wq)")
    p.add_argument("--no-fold-BN", dest="fold_BN", action="store_false",
                   help="do not fold BatchNormalization layers into the neural layers")
    _common(p)
    p.set_defaults(func=run_quantize)

    p = subparsers.add_parser(
        "reshape", help="(deprecated) change the input size of a serial Keras model",
        description="Save the model with a new input height and width as "
                    "MODEL_<width>_<height>.h5. Deprecated: use QuantizeML.")
    p.add_argument("-m", "--model", required=True, help="the source Keras model (.h5)")
    p.add_argument("-ih", "--input_height", type=int, required=True, help="new input height")
    p.add_argument("-iw", "--input_width", type=int, required=True, help="new input width")
    _common(p)
    p.set_defaults(func=run_reshape)

    p = subparsers.add_parser(
        "calibrate", help="(deprecated) calibrate the weights of a legacy quantized Keras model",
        description="Bias correction or AdaRound of a legacy-quantized model on samples; saves "
                    "MODEL_bc_calibrated.h5 or MODEL_adaround_calibrated.h5. Deprecated: use "
                    "QuantizeML.")
    methods = p.add_subparsers(dest="method", metavar="METHOD")
    methods.required = True
    for name, text in (("bc", "bias correction"), ("adaround", "AdaRound weight rounding")):
        m = methods.add_parser(name, help=text)
        m.add_argument("-m", "--model", required=True, help="the legacy quantized model (.h5)")
        m.add_argument("-sa", "--samples", required=True,
                       help="calibration samples (.npz; all its arrays are concatenated)")
        m.add_argument("-bs", "--batch_size", type=int, default=None, help="batch size")
        if name == "adaround":
            m.add_argument("-e", "--epochs", type=int, default=10, help="epochs per layer")
            m.add_argument("-lr", "--learning_rate", type=float, default=1e-2,
                           help="learning rate")
            m.add_argument("-act", "--include_activation", action="store_true",
                           help="compare layer outputs after their activation")
        _common(m)
        m.set_defaults(func=run_calibrate)


def _base(path):
    return os.path.splitext(path)[0]


def run_quantize(args) -> int:
    iq = args.weight_quantization if args.input_weight_quantization is None \
        else args.input_weight_quantization
    base = _base(args.model)
    match = _SUFFIX.match(base)
    if match:
        base = match.group(1)
    out = f"{base}_iq{iq}_wq{args.weight_quantization}_aq{args.activ_quantization}.h5"
    _start("quantize", args, out)
    from .quantization import load_quantized_model, quantize
    model = load_quantized_model(args.model, compile_model=False)
    qmodel = quantize(model, args.weight_quantization, args.activ_quantization, iq,
                      fold_BN=args.fold_BN)
    qmodel.save(out, include_optimizer=False)
    print(f"Model successfully quantized and saved as {out}.")
    return 0


def run_reshape(args) -> int:
    out = f"{_base(args.model)}_{args.input_width}_{args.input_height}.h5"
    _start("reshape", args, out)
    from .quantization import load_quantized_model
    from .transforms import reshape
    model = load_quantized_model(args.model, compile_model=False)
    new = reshape(model, args.input_height, args.input_width)
    new.save(out, include_optimizer=False)
    print(f"Model input successfully reshaped and saved as {out}.")
    return 0


def _load_samples(path):
    import numpy as np

    from nsoc.errors import InputError
    if not os.path.exists(path):
        raise InputError(f"samples file not found: {path}")
    try:
        with np.load(path) as data:
            arrays = [data[k] for k in data.files]
    except (OSError, ValueError, AttributeError) as exc:
        raise InputError(f"cannot read samples {path} as .npz: {exc}") from None
    if not arrays:
        raise InputError(f"samples file {path} holds no array")
    try:
        return np.concatenate(arrays)
    except ValueError as exc:
        raise InputError(f"the arrays of {path} do not stack into one batch: {exc}") from None


def run_calibrate(args) -> int:
    out = f"{_base(args.model)}_{args.method}_calibrated.h5"
    samples = _start(f"calibrate {args.method}", args, out, lambda: _load_samples(args.samples))
    from .calibrate import adaround, bias_correction
    from .quantization import load_quantized_model
    model = load_quantized_model(args.model, compile_model=False)
    if args.method == "adaround":
        out_model = adaround(model, samples, epochs=args.epochs, batch_size=args.batch_size,
                             include_activation=args.include_activation,
                             learning_rate=args.learning_rate)
    else:
        out_model = bias_correction(model, samples, batch_size=args.batch_size)
    out_model.save(out, include_optimizer=False)
    print(f"Model successfully calibrated ({args.method}) and saved as {out}.")
    return 0

"""``nsoc run MODEL.fbz --input DATA.npy``: run a model on a batch of inputs.

Writes the outputs (float32 ``predict`` values, or the raw integer potentials with ``--raw``) to
an ``.npy`` file, by default beside the input, and prints the number of samples, the output shape,
the throughput and, for a classifier, a top-1 histogram.
"""
from __future__ import annotations

import os
import sys
import time
from types import MappingProxyType

import numpy as np

from ..errors import InputError
from ..fileio import save_npy_atomic
from .report import add_report_arguments, simulation_options
from .sweep import add_dataset_arguments, is_dataset_run, run_dataset
from .timing import add_timing_arguments


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help="run a model on inputs from a .npy file",
        description="Run an nsoc model on a batch of NHWC inputs stored in a .npy file.")
    p.add_argument("model", help="nsoc model (.fbz), or a BrainChip Akida .fbz (nsoc[akida])")
    p.add_argument("--input", "-i", required=True, help="inputs, a .npy array (N, X, Y, C)")
    p.add_argument("--output", "-o", help="where to write the outputs (.npy); default: "
                   "<input>_<model>_outputs.npy beside the input")
    p.add_argument("--raw", action="store_true",
                   help="write the integer potentials (forward) instead of predict's float32")
    p.add_argument("--batch-size", type=int, default=0,
                   help="samples per chunk streamed through the layers (default: automatic)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.add_argument("--device", help="device to map onto for --timing/--report (see nsoc devices)")
    p.add_argument("--mode", default="AllNps", choices=("AllNps", "Minimal", "HwPr"),
                   help="mapping mode for --timing/--report (default AllNps)")
    p.add_argument("--timing-frames", type=int, default=64, metavar="N",
                   help="simulate the first N input frames cycle by cycle (default 64)")
    add_timing_arguments(p)
    add_report_arguments(p)
    add_dataset_arguments(p)
    p.set_defaults(func=run)


def default_output_path(input_path: str, model_path: str) -> str:
    base, _ = os.path.splitext(input_path)
    stem = os.path.splitext(os.path.basename(model_path))[0]
    return f"{base}_{stem}_outputs.npy"


def load_inputs(path: str) -> np.ndarray:
    """Memory-map a .npy file; every problem becomes an InputError with the expected form."""
    if not os.path.exists(path):
        raise InputError(f"input file not found: {path}; pass a .npy array of shape (N, X, Y, C)")
    if os.path.isdir(path):
        raise InputError(f"input {path} is a directory; pass a .npy file")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"cannot read {path} as a .npy array ({exc}); save inputs with "
                         f"numpy.save(path, array)") from None


def check_output_path(out: str, protected: list[str], force: bool) -> None:
    real = os.path.realpath(out)
    for path in protected:
        if os.path.exists(path) and os.path.realpath(path) == real:
            raise InputError(f"output path {out} is the input or model file; choose another -o")
    if os.path.exists(out) and not force:
        raise InputError(f"output file {out} already exists; pass --force to overwrite it or "
                         f"choose another path with --output")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise InputError(f"output directory {parent} does not exist; create it first")


PROGRESS_BLOCK = 4096  # samples per progress-bar step


def run_batches(model, x, raw: bool, batch_size: int) -> np.ndarray:
    """predict (or forward with ``raw``) over ``x``; a tqdm bar when stderr is a terminal and
    the input is large (tqdm is optional)."""
    infer = model.forward if raw else model.predict
    n = x.shape[0]
    bar = None
    if n > PROGRESS_BLOCK and sys.stderr.isatty():
        try:
            from tqdm import tqdm
            bar = tqdm(total=n, unit="sample", desc="nsoc run")
        except ImportError:
            pass
    if bar is None:
        return infer(x, batch_size=batch_size)
    first = infer(x[:PROGRESS_BLOCK], batch_size=batch_size)
    y = np.empty((n,) + first.shape[1:], first.dtype)
    y[:PROGRESS_BLOCK] = first
    bar.update(len(first))
    with bar:
        for start in range(PROGRESS_BLOCK, n, PROGRESS_BLOCK):
            stop = min(n, start + PROGRESS_BLOCK)
            y[start:stop] = infer(x[start:stop], batch_size=batch_size)
            bar.update(stop - start)
    return y


def run_in_memory(model, x, out_path: str, args, keep_frames: int = 0):
    """Run every sample in this process (each once), save the outputs and print what ran.

    The first ``keep_frames`` frames run with every layer's outputs kept: they are the
    simulated frames' :class:`~nsoc.pipeline.Activations` (returned; None when 0), and their
    outputs are taken from them.  The first frame alone times the kernel loading."""
    from ..engine import outputs_from_activations
    from ..pipeline import Activations
    from ..report.info import top1_histogram
    n = x.shape[0]
    keep = min(keep_frames, n)
    start = time.perf_counter()
    from ..engine import check_inputs, check_values
    from ..warmup import notify_if_cold
    check_inputs(model, x)  # a user error stays one line: checked before the notice
    check_values(model, np.asarray(x[:1]))
    notify_if_cold()  # one line before a fresh install compiles the kernels
    if keep:   # loads (or compiles, once) the kernels
        parts = [model.forward(np.asarray(x[:1]), outputs="all")]
    else:
        head = run_batches(model, x[:1], args.raw, 1)
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    activations = None
    if keep:
        if keep > 1:
            parts.append(model.forward(np.asarray(x[1:keep]), batch_size=args.batch_size,
                                       outputs="all"))
        values = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
        activations = Activations(np.asarray(x[:keep]), MappingProxyType(values))
        head = outputs_from_activations(model, values, args.raw)
    done = head.shape[0]
    y = np.empty((n,) + head.shape[1:], head.dtype)
    y[:done] = head
    if n > done:
        y[done:] = run_batches(model, x[done:], args.raw, args.batch_size)
    elapsed = time.perf_counter() - start
    save_npy_atomic(out_path, y)
    timed = max(n - 1, 1)
    print(f"samples: {n}")
    print(f"output: {y.dtype} {tuple(y.shape)} -> {out_path}")
    print(f"throughput: {timed / max(elapsed, 1e-9):,.1f} samples/s ({elapsed:.3f} s on this "
          f"host, after {warmup:.2f} s loading the kernels)")
    if y.ndim == 4 and y.shape[1] == 1 and y.shape[2] == 1 and y.shape[3] > 1:
        hist = top1_histogram(np.asarray(y))
        print("top-1 histogram: " + ", ".join(f"{c}: {k}" for c, k in sorted(hist.items())))
    return activations


def check_report_dir(path: str) -> None:
    """The report directory must be creatable before any long work."""
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.exists(path) and not os.path.isdir(path):
        raise InputError(f"--report {path} is a file; pass a directory")
    if not os.path.isdir(parent):
        raise InputError(f"directory {parent} does not exist; create it before --report {path}")


def run_options(args, model):
    """The pipeline options of ``--timing``/``--report`` (None without them), every argument
    checked against ``model`` before any long work."""
    if not (args.timing or args.report):
        if getattr(args, "sparsity", None) is not None:
            raise InputError("--sparsity shapes the simulated events: add --report DIR or "
                             "--timing (with --device)")
        return None
    if args.timing_frames < 1:
        raise InputError(f"--timing-frames must be >= 1, got {args.timing_frames}")
    if args.device is None:
        option = "--report" if args.report else "--timing"
        raise InputError(f"{option} needs --device NAME (list them with nsoc devices)")
    options = simulation_options(args, args.device, args.timing_frames)
    if options.sparsity is not None:
        from ..hardware.sparsity import resolve_profile
        resolve_profile(model, options.sparsity)
        args.sparsity_profile = options.sparsity   # the dataset run's statistics read it
    return options


def run(args) -> int:
    """load -> validate (options, device, mapping, inputs, output path) -> the functional pass
    over every sample (each frame once; the simulated frames keep every layer's outputs) ->
    simulate -> energy -> report (:mod:`nsoc.pipeline`)."""
    from .. import pipeline
    from ..engine import check_inputs
    from ..interop import load_any as load
    if args.batch_size < 0:
        raise InputError(f"--batch-size must be >= 0, got {args.batch_size}")
    model = load(args.model)
    options = run_options(args, model)
    mapping = pipeline.map_stage(model, options) if options is not None else None
    x = load_inputs(args.input)
    check_inputs(model, x)   # shape and dtype: before the long work
    out_path = args.output or default_output_path(args.input, args.model)
    check_output_path(out_path, [args.input, args.model], args.force)
    if args.report:
        check_report_dir(args.report)
    activations = None
    if is_dataset_run(args):  # sharded over workers, with accuracy and per-frame figures
        run_dataset(args, out_path)
    else:
        activations = run_in_memory(model, x, out_path, args,
                                    options.frames if options is not None else 0)
    if options is None:
        return 0
    if activations is None:
        activations = pipeline.forward_stage(model, x, options)
    activations = pipeline.sparsity_stage(model, activations, options)
    timing = pipeline.simulate_stage(model, mapping, activations, options)
    if not args.report:
        from ..report.timing_text import format_timing
        print(format_timing(timing))
        return 0
    energy = pipeline.energy_stage(timing, mapping, options)
    report = pipeline.report_stage(model, mapping, activations, timing, energy)
    report.write(args.report)
    print(report.summary())
    return 0

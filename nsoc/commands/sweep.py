"""``nsoc sweep SPEC.toml -o RESULTS``: run a design-space sweep (see :mod:`nsoc.sweep.spec`
for the spec format) serially, on an embedded Dask cluster or on an existing one.

:func:`add_cluster_arguments` gives ``nsoc sweep``, ``nsoc bench`` and ``nsoc run`` their
``--workers N`` / ``--scheduler ADDR`` options.
"""
from __future__ import annotations


def add_cluster_arguments(parser) -> None:
    """``--workers N`` (local processes; 1 runs in this process) and ``--scheduler ADDR``."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--workers", type=int, metavar="N",
                       help="worker processes on this machine (default: one per core, with "
                            "Dask; 1 runs in this process, for debugging)")
    group.add_argument("--scheduler", metavar="ADDR",
                       help="run on an existing Dask cluster, e.g. tcp://HOST:8786 (started "
                            "with `dask scheduler` and `dask worker ADDR`)")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep", help="run a design-space sweep described by a TOML spec",
        description="Run every configuration of a sweep spec (models x inputs x devices x "
                    "modes x clock modes x parameter grids x frame counts) and write "
                    "RESULTS/results.csv, results.jsonl and summary.html. A restarted sweep "
                    "computes only the configurations missing from RESULTS.")
    p.add_argument("spec", help="sweep spec (.toml)")
    p.add_argument("-o", "--output", required=True, metavar="RESULTS",
                   help="results folder (created; an interrupted sweep there is resumed)")
    add_cluster_arguments(p)
    p.add_argument("--force", action="store_true",
                   help="reuse a results folder that holds another sweep (matching rows are kept)")
    p.add_argument("--no-html", action="store_true", help="do not write summary.html")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..report.sweep_text import format_sweep_result
    from ..sweep import load_spec, run_sweep
    spec = load_spec(args.spec)
    result = run_sweep(spec, args.output, workers=args.workers, scheduler=args.scheduler,
                       force=args.force, html=not args.no_html)
    print(format_sweep_result(result))
    return 0


# ----- nsoc run over a large input (sharded, optionally on Dask) ---------------------------------
def add_dataset_arguments(parser) -> None:
    """``nsoc run``'s dataset options: ``--workers``/``--scheduler``, ``--labels``,
    ``--shard-size``."""
    add_cluster_arguments(parser)
    parser.add_argument("--labels", metavar="Y.npy",
                        help="class indices (N,) or one-hot rows: prints top-1 / top-5 accuracy")
    parser.add_argument("--shard-size", type=int, metavar="N",
                        help="samples per shard of a sharded run (default: automatic)")


def is_dataset_run(args) -> bool:
    """True when ``nsoc run`` should shard its input (workers, a scheduler or labels given)."""
    return (getattr(args, "workers", None) is not None or bool(getattr(args, "scheduler", None))
            or bool(getattr(args, "labels", None)))


def run_dataset(args, out_path: str):
    """The sharded ``nsoc run``: outputs into ``out_path``, accuracy, and with ``--report DIR``
    the per-frame latency and energy of every sample (DIR/dataset.json, DIR/frames.csv)."""
    from ..errors import InputError
    from ..hardware.energy import parse_overrides
    from ..hardware.parameters import parse_timing_overrides
    from ..report.sweep_text import format_dataset_result
    from ..sweep.dataset import run_sharded, write_frame_stats
    from ..sweep.spec import parse_device
    if args.shard_size is not None and args.shard_size < 1:
        raise InputError(f"--shard-size must be >= 1, got {args.shard_size}")
    stats = None
    if args.report:
        if args.device is None:
            raise InputError("--report needs --device NAME (list them with nsoc devices)")
        stats = {"device": parse_device(args.device).to_dict(), "mode": args.mode,
                 "clock_mode": args.clock_mode, "timing": parse_timing_overrides(args.param),
                 "energy": parse_overrides(args.energy_param)}
        profile = getattr(args, "sparsity_profile", None)
        if profile is not None:
            stats["sparsity"] = profile.uniform if profile.uniform is not None \
                else dict(profile.layers)
            stats["sparsity_seed"] = int(getattr(args, "sparsity_seed", 0) or 0)
    result = run_sharded(args.model, args.input, out_path, raw=args.raw,
                         batch_size=args.batch_size, workers=args.workers,
                         scheduler=args.scheduler, labels_path=args.labels, stats=stats,
                         shard=args.shard_size)
    paths = write_frame_stats(result, args.report) if args.report else {}
    print(format_dataset_result(result, paths))
    return result

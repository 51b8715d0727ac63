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

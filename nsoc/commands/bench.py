"""``nsoc bench -o DIR``: the standard suite (zoo x built-in devices x mapping modes) as one
sweep; prints the comparison table and writes DIR/results.csv, results.jsonl, summary.html."""
from __future__ import annotations

from .sweep import add_cluster_arguments


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "bench", help="run the standard suite: zoo models x built-in devices x mapping modes",
        description="Run every zoo model (default parameters, Akida 1.0 and 2.0) on every "
                    "built-in device of its version in every mapping mode, print the "
                    "comparison table and write DIR/results.csv, results.jsonl and "
                    "summary.html (an interrupted bench resumes).")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="results folder")
    add_cluster_arguments(p)
    p.add_argument("--frames", type=int, default=4, help="frames simulated per configuration "
                   "(default 4)")
    p.add_argument("--models", help="comma-separated zoo entries (default: all)")
    p.add_argument("--devices", help="comma-separated devices (default: all built-in)")
    p.add_argument("--force", action="store_true",
                   help="reuse a results folder that holds another sweep")
    p.set_defaults(func=run)


def _names(text):
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def run(args) -> int:
    from ..report.sweep_text import format_sweep_result, format_table
    from ..sweep import run_sweep, spec_from_dict
    from ..sweep.bench import bench_spec
    spec = spec_from_dict(bench_spec(args.frames, _names(args.models), _names(args.devices)))
    result = run_sweep(spec, args.output, workers=args.workers, scheduler=args.scheduler,
                       force=args.force)
    print(format_table(result.rows))
    print()
    print(format_sweep_result(result))
    return 0

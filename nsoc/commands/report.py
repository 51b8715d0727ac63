"""``nsoc report A [B]``: print a report's summary, or compare two reports (B - A).

A and B are ``report.json`` files or the directories written by ``nsoc run --report DIR``.
With two reports, prints the deltas in total (latency, fps, energy, power, events) and per
layer (busy cycles, energy); ``--json`` prints the comparison (or the report) as JSON.

:func:`add_report_arguments` / :func:`run_report` give ``nsoc run`` its ``--report DIR`` and
``--energy-param KEY=VALUE`` options (they reuse run's ``--device``, ``--mode``,
``--clock-mode``, ``--param`` and ``--stream-frames``).
"""
from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="summarise a report, or compare two (what-if studies)",
        description="Print the summary of a report written by `nsoc run --report DIR`, or the "
                    "deltas B - A in total and per layer between two reports.")
    p.add_argument("a", metavar="A", help="report.json or report directory")
    p.add_argument("b", metavar="B", nargs="?", help="second report to compare with A")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..report import compare_reports, format_compare, load_report
    a = load_report(args.a)
    if args.b is None:
        print(json.dumps(a.data, indent=1) if args.json else a.summary())
        return 0
    cmp = compare_reports(a, load_report(args.b))
    print(json.dumps(cmp, indent=1) if args.json else format_compare(cmp))
    return 0


def add_report_arguments(parser) -> None:
    """Add ``--report DIR``, ``--energy-param KEY=VALUE`` and ``--cut-cycles`` to ``nsoc run``."""
    parser.add_argument("--report", metavar="DIR",
                        help="simulate on --device and write DIR/report.json, layers.csv and "
                             "report.html (latency, fps, energy, power)")
    parser.add_argument("--energy-param", action="append", default=[], metavar="KEY=VALUE",
                        help="override an energy constant (repeatable), e.g. "
                             "--energy-param np_active_cycle_pj=10")
    parser.add_argument("--sparsity", metavar="PROFILE",
                        help="simulate --timing/--report with input events drawn at this input "
                             "sparsity: a number in [0, 1] (every layer) or a JSON file "
                             "{layer name: input sparsity} (other layers keep their real "
                             "activations)")
    parser.add_argument("--sparsity-seed", type=int, default=0, metavar="N",
                        help="seed of the events drawn for --sparsity (default 0)")
    parser.add_argument("--cut-cycles", action="store_true",
                        help="also report each layer's cycles as BrainChip measures them "
                             "(model cut after the layer minus cut before it, Minimal mapping, "
                             "batch 1): layers.csv column cut_cycles; one simulation per layer")


def run_report(args, model, mapping, x):
    """Build, write and print the report requested by ``nsoc run`` arguments; returns it."""
    from ..hardware.energy import parse_overrides
    from ..hardware.parameters import parse_timing_overrides
    from ..report import simulate_and_report
    return simulate_and_report(
        model, x, mapping, args.report, print_summary=True,
        clock_mode=getattr(args, "clock_mode", "Performance"),
        timing_overrides=parse_timing_overrides(getattr(args, "param", [])),
        energy_overrides=parse_overrides(getattr(args, "energy_param", [])),
        batch_size=getattr(args, "stream_frames", None),
        sparsity=getattr(args, "sparsity_profile", None),
        sparsity_seed=getattr(args, "sparsity_seed", 0),
        cut_cycles=getattr(args, "cut_cycles", False))

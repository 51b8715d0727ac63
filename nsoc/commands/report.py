"""``nsoc report A [B]``: print a report's summary, or compare two reports (B - A).

A and B are ``report.json`` files or the directories written by ``nsoc run --report DIR``.
With two reports, prints the deltas in total (latency, fps, energy, power, events) and per
layer (busy cycles, energy); ``--json`` prints the comparison (or the report) as JSON.

:func:`add_report_arguments` gives ``nsoc run`` its ``--report DIR``, ``--energy-param``,
``--sparsity`` and ``--cut-cycles`` options; :func:`simulation_options` turns them (with run's
``--device``, ``--mode``, ``--clock-mode``, ``--param`` and ``--stream-frames``) into the
pipeline's options.
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


def simulation_options(args, device=None, frames: int | None = None):
    """The :class:`~nsoc.pipeline.SimOptions` of the ``--timing``/``--report`` arguments
    (``--clock-mode``, ``--param``, ``--stream-frames``, ``--energy-param``, ``--sparsity``,
    ``--sparsity-seed``, ``--cut-cycles``, ``--mode``); every value is parsed here, before any
    long work."""
    from ..hardware.energy import parse_overrides
    from ..hardware.parameters import parse_timing_overrides
    from ..hardware.sparsity import parse_profile
    from ..pipeline import SimOptions
    sparsity = getattr(args, "sparsity", None)
    return SimOptions(
        device=device, mode=getattr(args, "mode", "AllNps"),
        clock_mode=getattr(args, "clock_mode", "Performance"),
        timing_overrides=parse_timing_overrides(getattr(args, "param", [])),
        energy_overrides=parse_overrides(getattr(args, "energy_param", [])),
        frames=frames, stream_frames=getattr(args, "stream_frames", None),
        sparsity=parse_profile(sparsity) if sparsity is not None else None,
        sparsity_seed=getattr(args, "sparsity_seed", 0) or 0,
        cut_cycles=getattr(args, "cut_cycles", False), progress=False)


def run_report(args, model, mapping, x):
    """Simulate the frames ``x`` of ``model`` placed by ``mapping`` as the ``nsoc run``
    arguments say (:mod:`nsoc.pipeline`), write the report to ``args.report`` and print its
    summary; returns it."""
    from ..pipeline import simulate
    report = simulate(model, x, simulation_options(args, mapping.device), mapping=mapping).report
    report.write(args.report)
    print(report.summary())
    return report

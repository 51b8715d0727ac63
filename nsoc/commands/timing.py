"""``nsoc run ... --timing``: the options of the cycle-level simulation and its run."""
from __future__ import annotations

from ..hardware.parameters import parse_timing_overrides
from ..hardware.timing import CLOCK_MODES, simulate
from ..hardware.timing_result import TimingResult


def add_timing_arguments(parser) -> None:
    """Add ``--timing``, ``--clock-mode``, ``--param KEY=VALUE`` and ``--stream-frames``."""
    parser.add_argument("--timing", action="store_true",
                        help="run the cycle-level simulation on --device and print its summary")
    parser.add_argument("--clock-mode", default="Performance", choices=CLOCK_MODES,
                        help="clock mode of the device (default Performance)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="override a timing constant (repeatable), e.g. "
                             "--param router_latency_cycles=4")
    parser.add_argument("--stream-frames", type=int, default=None, metavar="N",
                        help="frames streamed for the timing run (default: the input's frames;"
                             " more repeats the inputs)")


def run_timing(args, model, mapping, x, activations=None) -> TimingResult:
    """Run the simulation requested by the ``nsoc run`` arguments and print its summary."""
    from ..report.timing_text import format_timing
    result = simulate(model, mapping, x, activations, clock_mode=args.clock_mode,
                      overrides=parse_timing_overrides(args.param),
                      batch_size=getattr(args, "stream_frames", None))
    print(format_timing(result))
    return result

"""Orchestration of a timing run: every hardware pass of a mapping planned, costed, scheduled
and collected into one :class:`~nsoc.hardware.timing_result.TimingResult`."""
from __future__ import annotations

import numpy as np

from ...errors import InputError, MappingError
from ...kernels.schedule import schedule
from ..parameters import TimingParamError, timing_params, values
from ..timing_result import DeferredList, TimingResult
from .collect import PassOutcome, collect_pass, critical_path, link_timings, np_timings
from .costs import program_cycles, reprogram_cycles
from .kinds import SOFTWARE_TYPES, SOURCE_TYPES
from .plan import cached_plan
from .rows import as_frames, pass_work

CLOCK_MODES = ("Performance", "Economy", "LowPower")


def program_bytes(seq, lms, P: dict, model=None) -> int:
    """Bytes the configuration DMA loads to (re)program one pass: the program records of its
    layers, an FNP2's weights excepted (:func:`nsoc.hardware.mapping.program.layer_reload_bytes`:
    weights as stored in the program, registers).  Without
    the model or a component's memory information: the pass's on-chip weights (``mem_info``
    weight_size) plus ``np_config_bytes`` per NP component."""
    from ..mapping.program import layer_reload_bytes
    comps = [c for lm in lms for c in lm.nps]
    if model is not None and all(c.mem_info for c in comps):
        return int(sum(layer_reload_bytes(lm, model.get_layer(lm.layer), model.ip_version)
                       for lm in lms))
    weights = sum(int((c.mem_info or {}).get("weight_size", 0)) for c in comps)
    return int(weights + P["np_config_bytes"] * len(comps))


def whole_program_bytes(mapping, pass_bytes: list[int]) -> int:
    """Bytes of the model's program as loaded before the first inference: the mapper's program
    size of its hardware sequences when it gives them, else the passes' bytes."""
    sizes = [seq.program_size for seq in mapping.sequences if seq.backend == "Hardware"]
    if sizes and all(sizes):
        return int(sum(sizes))
    return int(sum(pass_bytes))


def _frames(activations: dict, x, batch_size: int | None, first_layer) -> tuple:
    """(activations, input) as (F, X, Y, C) arrays of the ``batch_size`` frames streamed."""
    n_in = len(next(iter(activations.values())))
    if x is None:
        x = activations.get(first_layer.name) if first_layer.TYPE in SOURCE_TYPES else None
        if x is None:
            raise InputError("simulate() needs the input batch x when the first layer is "
                             "not an input Quantizer/InputData present in activations")
    n_frames = int(batch_size) if batch_size else n_in
    if n_frames < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    if n_frames == n_in:
        return {k: as_frames(v) for k, v in activations.items()}, as_frames(np.asarray(x))
    idx = np.arange(n_frames) % n_in
    return ({k: as_frames(v)[idx] for k, v in activations.items()},
            as_frames(np.asarray(x))[idx])


def simulate(model, mapping, x=None, activations: dict | None = None, *,
             clock_mode: str = "Performance", overrides: dict | None = None,
             batch_size: int | None = None, cache: bool = True) -> TimingResult:
    """Cycle-level simulation of ``model`` placed by ``mapping`` for the frames of ``x``.

    ``mapping``: the :class:`~nsoc.hardware.types.Mapping` of the model (``map_model``); it is
    used as given, never recomputed.  ``x``: NHWC input batch (as for ``model.forward``);
    ``activations``: {layer name: (N, x, y, c) integers} of those frames (default: computed by
    ``model.forward(x, outputs="all")``).  ``batch_size``: frames streamed (default ``len(x)``;
    more repeats the inputs cyclically).  ``overrides``: {timing parameter: number}.
    ``cache``: reuse the stage plan built for this mapping, parameters and frame count by an
    earlier call (the result is identical; ``False`` rebuilds it).

    ``latency_cycles`` of the result is the on-chip time of one forward call of frame 0 at
    batch 1 (what Akida's ``inference_clk`` counts; simulated on its own when several frames
    are streamed); ``frames[0]`` is frame 0's latency within the stream.
    """
    if clock_mode not in CLOCK_MODES:
        raise TimingParamError(f"unknown clock mode {clock_mode!r}; use one of {CLOCK_MODES}")
    if mapping is None or not hasattr(mapping, "sequences"):
        raise MappingError("simulate() needs the model's Mapping: "
                           "mapping = nsoc.hardware.mapping.map_model(model, 'AKD1000')")
    dev = mapping.device
    params = timing_params(dev, overrides)
    if activations is None:
        if x is None:
            raise InputError("simulate() needs an input batch x or precomputed activations")
        activations = model.forward(x, outputs="all")
    acts, xs = _frames(activations, x, batch_size, model.layers[0])
    n_frames = len(xs)
    P = values(params)
    clock = float(P[f"clock_hz_{clock_mode}"])
    passes = [(si, pi, p) for si, seq in enumerate(mapping.sequences)
              if seq.backend == "Hardware" for pi, p in enumerate(seq.passes)]
    multi = len(passes) > 1
    outcomes, reprograms, loads = [], [], []
    for si, pi, lms in passes:
        layers = [model.get_layer(lm.layer) for lm in lms]
        layers = [lay for lay in layers if lay.TYPE not in SOURCE_TYPES | SOFTWARE_TYPES]
        if not layers:
            continue
        plan = cached_plan(model, mapping, P, si, pi, layers, {lm.layer: lm for lm in lms},
                           n_frames, cache)
        work = pass_work(plan, model, P, acts, xs)
        res = schedule(plan.sched, work.costs, n_frames, float(P["link_width_bits"]),
                       int(P["packet_header_flits"]), float(P["router_latency_cycles"]))
        if not res.ok:  # only back-pressure can block: the stages form a DAG
            fifo = P["np_input_fifo_events"]
            raise TimingParamError(
                f"the simulated NPs dead-lock: with input FIFOs of np_input_fifo_events={fifo:g}"
                f" events, two branches that meet again block each other (pass {pi} of "
                f"sequence {si}); raise it, e.g. --param np_input_fifo_events={fifo * 16:g}")
        if plan.program_bytes is None:
            plan.program_bytes = program_bytes(mapping.sequences[si], lms, P, model)
        n_bytes = plan.program_bytes
        # bytes reloaded over the frames (a total, as every action count): in a stream every
        # frame reloads every pass, the first too (frame 0's first pass is loaded before the
        # inference, outside its latency, but each later call reloads it: the interval and
        # fps count it, and energy x fps is the power)
        outcomes.append(PassOutcome(plan, work, res, si, pi, n_bytes * n_frames if multi
                                    else 0))
        loads.append(n_bytes)
        reprograms.append(reprogram_cycles(mapping.mode, sum(len(lm.nps) for lm in lms),
                                           n_bytes, P))
    if not outcomes:
        raise MappingError("the model has no layer mapped on hardware: nothing to time")
    # the program is loaded once, before the first inference
    result = _result(model, outcomes, P, params, dev.name, clock_mode, clock, n_frames, multi,
                     reprograms, program_cycles(whole_program_bytes(mapping, loads), P))
    if n_frames > 1:  # latency: one forward call of frame 0 at batch 1, alone on the chip
        result.latency_cycles = simulate(
            model, mapping, xs[:1], {k: v[:1] for k, v in acts.items()},
            clock_mode=clock_mode, overrides=overrides, batch_size=1, cache=cache).latency_cycles
    return result


def _result(model, outcomes: list[PassOutcome], P: dict, params: dict, device: str,
            clock_mode: str, clock: float, n_frames: int, multi: bool,
            reprograms: list[float], program: float) -> TimingResult:
    """Combine the passes: they run one after the other per frame, reprogrammed in between
    when there are several (``reprograms``: cycles per pass).  The program is loaded before the
    inference (``program``: its program-load cycles), the first pass's records in place; in a
    multi-pass model the first frame reprograms every later pass, each following frame every
    pass."""
    figures = [collect_pass(o, P) for o in outcomes]
    frames = np.zeros(n_frames)
    for fig in figures:
        frames += fig.frames
    reconfig = float(sum(reprograms)) if multi else 0.0
    if multi:
        frames = frames + reconfig
        frames[0] -= reprograms[0]
        interval = float(sum(fig.latency for fig in figures)) + reconfig
    else:
        interval = figures[0].interval
    total = float(frames.sum())
    total_i = int(round(total))
    layers = [lt for fig in figures for lt in fig.layers]
    for lay in layers:
        lay.idle_cycles = max(total_i - lay.busy_cycles - lay.stall_cycles, 0)
    critical: list[str] = []
    for o, fig in zip(outcomes, figures, strict=True):
        critical = critical + critical_path(o, fig, model)
    return TimingResult(
        device=device, clock_mode=clock_mode, clock_hz=clock, n_frames=n_frames,
        latency_cycles=int(round(frames[0])), fps=clock / max(interval, 1.0),
        frames=[int(round(f)) for f in frames], interval_cycles=int(round(interval)),
        total_cycles=total_i, layers=layers,
        nps=DeferredList(lambda: np_timings(outcomes, figures, total_i)),
        links=DeferredList(lambda: link_timings(outcomes, total)),
        critical_path=critical, reconfig_cycles=int(round(reconfig)),
        program_cycles=int(round(program)), params=params)

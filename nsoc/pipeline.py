"""The one direction of a simulated run: load -> forward -> map -> simulate -> energy -> Report.

Each stage takes the previous stage's value and returns a new one; nothing is recomputed and
nothing is written back onto the model:

=============  ==========================================  =====================================
stage          function                                    value
=============  ==========================================  =====================================
load           :func:`nsoc.load` (``nsoc.io``)             :class:`nsoc.Model`
validate, map  :func:`map_stage`                           :class:`~nsoc.hardware.types.Mapping`
forward        :func:`forward_stage`                       :class:`Activations`
sparsity       :func:`sparsity_stage` (optional)           :class:`Activations`
simulate       :func:`simulate_stage`                      ``TimingResult``
energy         :func:`energy_stage`                        ``EnergyResult``
report         :func:`report_stage`                        :class:`nsoc.report.Report`
=============  ==========================================  =====================================

:func:`simulate` chains them (what ``Model.simulate``, ``nsoc run --report`` and
:func:`build_report` do); :class:`SimOptions` gathers every knob the stages take, so a sweep or
a command fills one value and hands it over.  Mapping (and with it the device/model version
check) comes first because it is fast and fails on user errors: nothing long runs before it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from .errors import InputError


def _frozen(d) -> MappingProxyType:
    return MappingProxyType(dict(d or {}))


@dataclass(frozen=True)
class SimOptions:
    """Everything a simulated run can be told (defaults: ``nsoc run --report``'s).

    ``device``: a :class:`~nsoc.hardware.types.Device`, a built-in name or a custom IP
    ``custom:CNPS,FNPS[,SKIP][,v1|v2]`` (without ``v1``/``v2`` it follows the model's version);
    ``mode``: AllNps, Minimal or HwPr; ``hw_only``: refuse software fall-back;
    ``clock_mode``: Performance, Economy or LowPower; ``timing_overrides`` /
    ``energy_overrides``: {parameter: number}; ``frames``: simulate the first N input frames
    (None: all); ``stream_frames``: frames streamed through the mesh (None: ``frames``; more
    repeats them); ``sparsity``: a sparsity profile (:mod:`nsoc.hardware.sparsity`: a number,
    ``{layer: input sparsity}`` or a JSON path) whose layers get input events drawn at that
    density with ``sparsity_seed``; ``progress``: tqdm bar over the functional pass (None: when
    stderr is a terminal); ``cut_cycles``: also compute each layer's cycles as BrainChip
    measures them (cut models, Minimal, frame 0: :mod:`nsoc.hardware.timing.cuts`; one mapping
    and simulation per layer) into the layers' ``cut_cycles``.
    """

    device: Any = None
    mode: str = "AllNps"
    hw_only: bool = False
    clock_mode: str = "Performance"
    timing_overrides: Any = field(default_factory=dict)
    energy_overrides: Any = field(default_factory=dict)
    frames: int | None = None
    stream_frames: int | None = None
    sparsity: Any = None
    sparsity_seed: int = 0
    progress: bool | None = None
    cut_cycles: bool = False

    def __post_init__(self):
        object.__setattr__(self, "timing_overrides", _frozen(self.timing_overrides))
        object.__setattr__(self, "energy_overrides", _frozen(self.energy_overrides))
        if self.frames is not None and (isinstance(self.frames, bool) or self.frames < 1):
            raise InputError(f"frames must be >= 1, got {self.frames}")
        from .hardware.timing import CLOCK_MODES
        if self.clock_mode not in CLOCK_MODES:
            raise InputError(f"unknown clock mode {self.clock_mode!r}; use one of "
                             f"{', '.join(CLOCK_MODES)}")

    def with_(self, **changes) -> SimOptions:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Activations:
    """The functional pass over the simulated frames: ``frames`` (the NHWC inputs) and
    ``values`` {layer name: (N, x, y, c) outputs} of every layer (after a sparsity profile,
    the redrawn events; ``profile``/``seed`` say which)."""

    frames: np.ndarray | None
    values: MappingProxyType
    profile: Any = None
    seed: int = 0

    def __len__(self) -> int:
        return len(next(iter(self.values.values()))) if self.values else 0

    def as_dict(self) -> dict:
        return dict(self.values)


# ----- stages ---------------------------------------------------------------------------------
def resolve_device(device, model):
    """The Device ``device`` names; a ``custom:`` spec without a version takes the model's."""
    from .hardware.device import get_device
    if device is None:
        raise InputError("a simulation needs a device: pass device='AKD1000' (or --device NAME; "
                         "list them with nsoc devices)")
    if isinstance(device, str) and device.lower().startswith("custom:"):
        fields = [f.strip() for f in device.split(":", 1)[1].split(",") if f.strip()]
        if not fields or fields[-1] not in ("v1", "v2"):
            device = f"{device.rstrip(',')},{model.ip_version}"
    return get_device(device)


def check_options(model, device, options: SimOptions) -> None:
    """Every option the later stages read, checked now: timing and energy parameter names and
    values on ``device``, the sparsity profile's layers on ``model``."""
    from .hardware.energy import resolve_params
    from .hardware.parameters import timing_params
    timing_params(device, dict(options.timing_overrides))
    resolve_params(device, dict(options.energy_overrides))
    if options.sparsity is not None:
        from .hardware.sparsity import resolve_profile
        resolve_profile(model, options.sparsity)


def map_stage(model, options: SimOptions):
    """Check the options, the device against the model (versions, limits) and map: the
    Mapping.  Everything here is fast, so user errors surface before any long work."""
    from .hardware import mapping as mapping_module
    device = resolve_device(options.device, model)
    check_options(model, device, options)
    return mapping_module.map_model(model, device, hw_only=options.hw_only, mode=options.mode)


def _show_progress(progress, n: int) -> bool:
    if progress is not None:
        return bool(progress)
    import sys
    return n > 1 and sys.stderr.isatty()


def forward_stage(model, x: np.ndarray, options: SimOptions | None = None,
                  chunk: int = 8) -> Activations:
    """Every layer's outputs for the first ``options.frames`` frames of ``x``: the functional
    pass, run once (under a tqdm bar when asked and tqdm is installed)."""
    options = options or SimOptions()
    frames = np.asarray(x[:options.frames] if options.frames is not None else x)
    bar = None
    if _show_progress(options.progress, len(frames)):
        try:
            from tqdm import tqdm
            bar = tqdm(total=len(frames), unit="frame", desc="simulating")
        except ImportError:
            bar = None
    if bar is None:
        return Activations(frames, MappingProxyType(model.forward(frames, outputs="all")))
    parts: dict = {}
    with bar:
        for i in range(0, len(frames), chunk):
            for name, value in model.forward(frames[i:i + chunk], outputs="all").items():
                parts.setdefault(name, []).append(value)
            bar.update(min(chunk, len(frames) - i))
    values = {name: np.concatenate(v) for name, v in parts.items()}
    return Activations(frames, MappingProxyType(values))


def sparsity_stage(model, activations: Activations, options: SimOptions) -> Activations:
    """With ``options.sparsity``: the activations whose profiled layers' input events are
    redrawn at the profile's densities (seeded); else ``activations`` unchanged."""
    if options.sparsity is None:
        return activations
    from .hardware.sparsity import apply_profile
    values = apply_profile(model, activations.as_dict(), options.sparsity,
                           seed=options.sparsity_seed)
    return Activations(activations.frames, MappingProxyType(values), options.sparsity,
                       options.sparsity_seed)


def simulate_stage(model, mapping, activations: Activations, options: SimOptions):
    """The cycle-level simulation of the frames on the mapped mesh: a TimingResult."""
    from .hardware.timing import simulate as simulate_timing
    overrides = dict(options.timing_overrides)
    timing = simulate_timing(model, mapping, activations.frames, activations.as_dict(),
                             clock_mode=options.clock_mode, overrides=overrides,
                             batch_size=options.stream_frames)
    if options.cut_cycles:
        from .hardware.timing.cuts import attach_cut_cycles, cut_layer_cycles
        attach_cut_cycles(timing, cut_layer_cycles(
            model, mapping.device, activations.frames, activations.as_dict(),
            clock_mode=options.clock_mode, overrides=overrides))
    return timing


def energy_stage(timing, mapping, options: SimOptions):
    """Energy per frame and power of the timed run on the mapping's device: an EnergyResult."""
    from .hardware.energy import estimate
    return estimate(timing, mapping.device, overrides=dict(options.energy_overrides))


def report_stage(model, mapping, activations: Activations, timing, energy):
    """The :class:`nsoc.report.Report` of the run (``events`` records the simulated events)."""
    from .hardware.sparsity import events_record
    from .report.core import Report
    report = Report.from_results(model, mapping, timing, energy)
    report.data["events"].update(events_record(model, activations.profile, activations.seed,
                                               activations.as_dict()))
    return report


# ----- chains ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """Every stage's value of one simulated run."""

    model: Any
    mapping: Any
    activations: Activations
    timing: Any
    energy: Any
    report: Any


def simulate(model, x=None, options: SimOptions | None = None, *, mapping=None,
             activations: Activations | dict | None = None, **option_fields) -> Run:
    """Run the stages after loading: map (unless ``mapping`` is given), forward (unless
    ``activations`` are given), sparsity, simulate, energy, report.

    Options come as a :class:`SimOptions` and/or its fields as keywords
    (``simulate(model, x, device="AKD1000", frames=16)``).
    """
    options = (options or SimOptions()).with_(**option_fields) if option_fields else \
        (options or SimOptions())
    if mapping is None:
        mapping = map_stage(model, options)
    else:
        check_options(model, mapping.device, options)
    if activations is None:
        if x is None:
            raise InputError("simulate needs input frames x or their activations")
        activations = forward_stage(model, x, options)
    elif not isinstance(activations, Activations):
        frames = np.asarray(x[:options.frames] if options.frames is not None else x) \
            if x is not None else None
        activations = Activations(frames, MappingProxyType(dict(activations)))
    activations = sparsity_stage(model, activations, options)
    timing = simulate_stage(model, mapping, activations, options)
    energy = energy_stage(timing, mapping, options)
    return Run(model, mapping, activations, timing, energy,
               report_stage(model, mapping, activations, timing, energy))


def build_report(model, x, mapping=None, *, device=None, mode: str = "AllNps",
                 hw_only: bool = False, clock_mode: str = "Performance",
                 timing_overrides: dict | None = None, energy_overrides: dict | None = None,
                 batch_size: int | None = None, progress: bool | None = None,
                 activations: dict | None = None, sparsity=None,
                 sparsity_seed: int = 0, cut_cycles: bool = False):
    """The :class:`~nsoc.report.Report` of the frames ``x`` of ``model``: :func:`simulate`
    with ``mapping`` (or mapped on ``device`` in ``mode``) and the given options
    (``batch_size``: frames streamed; ``activations``: the frames' per-layer outputs when
    already computed)."""
    options = SimOptions(device=device if mapping is None else mapping.device,
                         mode=mode if mapping is None else mapping.mode, hw_only=hw_only,
                         clock_mode=clock_mode, timing_overrides=timing_overrides,
                         energy_overrides=energy_overrides, stream_frames=batch_size,
                         sparsity=sparsity, sparsity_seed=sparsity_seed, progress=progress,
                         cut_cycles=cut_cycles)
    return simulate(model, x, options, mapping=mapping, activations=activations).report


def simulate_and_report(model, x, mapping=None, out_dir=None, *, html: bool = True,
                        print_summary: bool = False, **kwargs):
    """:func:`build_report`, then write it to ``out_dir`` (when given) and print the terminal
    summary (when ``print_summary``)."""
    report = build_report(model, x, mapping, **kwargs)
    if out_dir is not None:
        report.write(out_dir, html=html)
    if print_summary:
        print(report.summary())
    return report

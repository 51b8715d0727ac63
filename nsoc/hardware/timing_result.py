"""Result of a cycle-level simulation (:func:`nsoc.hardware.timing.simulate`).

Units: cycles are clock cycles of the NP mesh at ``clock_hz``; bytes are bytes; every count
(events, actions) is a total over all the frames simulated (``n_frames``) unless its name says
"per frame".  :meth:`ActionCounts.per_frame` divides by the number of frames.

The energy model (:mod:`nsoc.hardware.energy`) multiplies :class:`ActionCounts` by energies per
action; the report (:mod:`nsoc.report`) serialises :meth:`TimingResult.to_dict`.
"""
from __future__ import annotations

from collections import UserList
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TypeVar

T = TypeVar("T")


@dataclass
class ActionCounts:
    """Hardware actions that cost energy, for one layer or one NP (totals over all frames).

    * ``synaptic_ops``: weight x input-event accumulations done by CNP/FNP datapaths, at
      ``weight_bits`` weight and ``input_bits`` activation widths.
    * ``hrc_macs``: 8-bit dense multiply-accumulates of the HRC (input layer), not in synaptic_ops.
    * ``input_sram_writes`` / ``input_sram_reads``: events written to / read from an NP's input
      buffer (one access per event).
    * ``weight_sram_reads``: weight words read from an NP's weight SRAM (one per kernel row
      segment of ``weight_word_bits`` the NP fetches per event and filter group).
    * ``noc_flit_hops``: flits times mesh hops travelled (router + link traversals).
    * ``dma_weight_bytes``: FNP2 weights fetched from external memory; ``dma_input_bytes`` /
      ``dma_output_bytes``: bytes moved by the event DMA into / out of the mesh (model input and
      output, and skip-DMA store/load traffic).
    * ``neurons_updated``: neurons visited by threshold-and-fire (one per output neuron per frame);
      ``neurons_fired``: those that emitted a non-zero output event.
    * ``reconfig_bytes``: program / configuration bytes reloaded for multi-pass or
      multi-sequence models (every pass each frame, as in a stream of calls).
    """

    synaptic_ops: int = 0
    weight_bits: int = 0
    input_bits: int = 0
    hrc_macs: int = 0
    input_sram_reads: int = 0
    input_sram_writes: int = 0
    weight_sram_reads: int = 0
    noc_flit_hops: int = 0
    dma_weight_bytes: int = 0
    dma_input_bytes: int = 0
    dma_output_bytes: int = 0
    neurons_updated: int = 0
    neurons_fired: int = 0
    reconfig_bytes: int = 0

    _WIDTHS = ("weight_bits", "input_bits")

    def add(self, other: ActionCounts) -> None:
        """Accumulate ``other`` into self (bit widths: keep the larger, they describe the op)."""
        for f in fields(self):
            if f.name in self._WIDTHS:
                setattr(self, f.name, max(getattr(self, f.name), getattr(other, f.name)))
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def per_frame(self, n_frames: int) -> dict:
        """Counts divided by ``n_frames`` (floats), widths unchanged."""
        n = max(int(n_frames), 1)
        return {f.name: (getattr(self, f.name) if f.name in self._WIDTHS
                         else getattr(self, f.name) / n) for f in fields(self)}

    def to_dict(self) -> dict:
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}


@dataclass
class LayerTiming:
    """Timing of one layer over the simulated frames.

    ``busy_cycles``: cycles its busiest NP spent processing (events + per-frame work);
    ``stall_cycles``: cycles its NPs waited on back-pressure (full downstream buffers / links)
    or on external-memory fetches; ``idle_cycles``: the rest of the simulated span
    (``span_cycles - busy - stall``) for that NP.  ``events_in``/``events_out`` count non-zero
    activations received / emitted; ``sparsity`` is the fraction of zero outputs.
    ``start_cycle``/``end_cycle``: first and last cycle of the layer in frame 0.
    ``cut_cycles``: the layer's cycles as BrainChip measures them (cut-model difference, see
    :mod:`nsoc.hardware.timing.cuts`) when computed, else None.
    """

    name: str
    type: str
    np_types: list[str] = field(default_factory=list)
    n_nps: int = 0
    busy_cycles: int = 0
    idle_cycles: int = 0
    stall_cycles: int = 0
    events_in: int = 0
    events_out: int = 0
    sparsity: float = 0.0
    start_cycle: int = 0
    end_cycle: int = 0
    sequence: int = 0
    pass_index: int = 0
    actions: ActionCounts = field(default_factory=ActionCounts)
    cut_cycles: int | None = None

    def to_dict(self) -> dict:
        extra = {} if self.cut_cycles is None else {"cut_cycles": int(self.cut_cycles)}
        return {"name": self.name, "type": self.type, "np_types": list(self.np_types),
                "n_nps": self.n_nps, "busy_cycles": int(self.busy_cycles),
                "idle_cycles": int(self.idle_cycles), "stall_cycles": int(self.stall_cycles),
                "events_in": int(self.events_in), "events_out": int(self.events_out),
                "sparsity": float(self.sparsity), "start_cycle": int(self.start_cycle),
                "end_cycle": int(self.end_cycle), "sequence": self.sequence,
                "pass": self.pass_index, "actions": self.actions.to_dict(), **extra}


@dataclass
class NPTiming:
    """Timing of one NP (or NP component: one layer's share of an NP), totals over all frames."""

    col: int
    row: int
    id: int
    type: str
    layer: str
    busy_cycles: int = 0
    idle_cycles: int = 0
    stall_cycles: int = 0
    events_in: int = 0
    events_out: int = 0
    actions: ActionCounts = field(default_factory=ActionCounts)

    @property
    def ident(self) -> tuple[int, int, int]:
        return (self.col, self.row, self.id)

    def to_dict(self) -> dict:
        return {"col": self.col, "row": self.row, "id": self.id, "type": self.type,
                "layer": self.layer, "busy_cycles": int(self.busy_cycles),
                "idle_cycles": int(self.idle_cycles), "stall_cycles": int(self.stall_cycles),
                "events_in": int(self.events_in), "events_out": int(self.events_out),
                "actions": self.actions.to_dict()}


@dataclass
class LinkTiming:
    """One directed mesh link between neighbouring nodes ``src`` -> ``dst`` (col, row).

    ``flits``: flits carried over all frames; ``busy_cycles``: cycles the link was transmitting;
    ``peak_utilisation``: highest busy fraction over any frame-window of the busiest layer
    transfer (0..1); ``mean_utilisation``: busy / simulated span.
    """

    src: tuple[int, int]
    dst: tuple[int, int]
    flits: int = 0
    busy_cycles: int = 0
    peak_utilisation: float = 0.0
    mean_utilisation: float = 0.0

    def to_dict(self) -> dict:
        return {"src": list(self.src), "dst": list(self.dst), "flits": int(self.flits),
                "busy_cycles": int(self.busy_cycles),
                "peak_utilisation": float(self.peak_utilisation),
                "mean_utilisation": float(self.mean_utilisation)}


class DeferredList(UserList[T]):
    """A list built by ``build()`` on first use (the simulator defers the per-NP and per-link
    records: most callers of a frame only read the totals)."""

    def __init__(self, build: Callable[[], list[T]]):
        self._build: Callable[[], list[T]] | None = build
        self._data: list[T] = []

    @property  # type: ignore[override]
    def data(self) -> list[T]:
        if self._build is not None:
            self._data = list(self._build())
            self._build = None
        return self._data

    @data.setter
    def data(self, value: list[T]) -> None:
        self._build = None
        self._data = value

    def __reduce__(self):
        """Pickled (e.g. sent between Dask workers) as the plain list it builds."""
        return (list, (self.data,))


@dataclass
class TimingResult:
    """Cycle-level timing of a batch of frames on a device.

    ``latency_cycles``: on-chip inference clocks of one forward call of frame 0 at batch 1
    (simulated alone): cycles from its first input event to its last output (including any
    reprogramming between passes); ``frames``: in the stream of ``n_frames`` frames, frame 0's
    latency, then the cycles each later frame adds (the gap between completions); ``fps``:
    sustained frames per second of a stream (1 / steady-state initiation interval at
    ``clock_hz``); ``program_cycles``: loading the model's program (before the first inference);
    ``reconfig_cycles``: reprogramming per frame of a multi-pass model; ``critical_path``:
    layer names of the chain that bounds frame-0 latency, input to output.  ``nps`` / ``links``
    may be :class:`DeferredList` s, built on first use.
    """

    device: str
    clock_mode: str
    clock_hz: float
    n_frames: int
    latency_cycles: int
    fps: float
    frames: list[int]
    interval_cycles: int
    total_cycles: int
    layers: list[LayerTiming] = field(default_factory=list)
    nps: list[NPTiming] | DeferredList[NPTiming] = field(default_factory=list)
    links: list[LinkTiming] | DeferredList[LinkTiming] = field(default_factory=list)
    critical_path: list[str] = field(default_factory=list)
    reconfig_cycles: int = 0
    program_cycles: int = 0
    params: dict = field(default_factory=dict)

    @property
    def latency_us(self) -> float:
        return self.latency_cycles / self.clock_hz * 1e6

    @property
    def actions(self) -> ActionCounts:
        """Sum of the per-layer action counts (all frames)."""
        total = ActionCounts()
        for lay in self.layers:
            total.add(lay.actions)
        return total

    def layer(self, name: str) -> LayerTiming:
        for lay in self.layers:
            if lay.name == name:
                return lay
        raise KeyError(f"no layer '{name}' in this timing result")

    def to_dict(self) -> dict:
        return {"device": self.device, "clock_mode": self.clock_mode,
                "clock_hz": float(self.clock_hz), "n_frames": self.n_frames,
                "latency_cycles": int(self.latency_cycles), "latency_us": float(self.latency_us),
                "fps": float(self.fps), "frames": [int(f) for f in self.frames],
                "interval_cycles": int(self.interval_cycles),
                "total_cycles": int(self.total_cycles),
                "reconfig_cycles": int(self.reconfig_cycles),
                "program_cycles": int(self.program_cycles),
                "critical_path": list(self.critical_path),
                "actions": self.actions.to_dict(),
                "layers": [lay.to_dict() for lay in self.layers],
                "nps": [n.to_dict() for n in self.nps],
                "links": [lk.to_dict() for lk in self.links],
                "params": {k: v for k, v in self.params.items()}}

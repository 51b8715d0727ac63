"""Energy and power of a simulated run: action counts x energy per action (the Accelergy approach).

:func:`estimate` takes the :class:`~nsoc.hardware.timing_result.TimingResult` of a cycle-level
run and an energy table (``nsoc/hardware/params/energy_*.json``, one per device generation, every
constant with its unit and its source or calibration) and returns an :class:`EnergyResult`.

Units: energies in microjoules (uJ) per frame unless named otherwise, table entries in picojoules
(pJ) per action, powers in milliwatts (mW).  The model:

* dynamic energy per frame = sum over actions of (count per frame x energy per action); a
  synaptic op costs ``synop_acc_pj + synop_mul_pj_per_bit2 x weight_bits x input_bits``; every NP
  busy cycle costs ``np_active_cycle_pj`` (clock tree and control); every frame costs
  ``frame_overhead_uj`` (host interface, DMA set-up; not attributed to a layer);
* static power = ``chip_idle_mw`` + ``np_leakage_mw`` per mapped NP + ``node_leakage_mw`` per
  mesh node holding a mapped NP;
* chip power = dynamic energy per frame x fps + static power; board power = chip power +
  ``board_floor_mw``.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field

from .parameters import (
    ParamError,
    apply_overrides,
    check_values,
    merge_device_params,
    parse_key_values,
    read_json,
)
from .timing_result import TimingResult

PARAMS_DIR = os.path.join(os.path.dirname(__file__), "params")

# Dynamic energy categories of the breakdown, in report order, plus "static".
DYNAMIC_KEYS = ("synaptic_ops", "hrc_macs", "input_sram_reads", "input_sram_writes",
                "weight_sram_reads", "noc_flit_hops", "dma_weights", "dma_input", "dma_output",
                "threshold_fire", "fire_events", "reconfiguration", "np_active_cycles",
                "frame_overhead")
STATIC_KEY = "static"
# Categories that are zero when no event reaches a CNP/FNP (an all-zero frame on a model
# without biases).  Input SRAM and NoC energy also hold fixed work (the HRC's dense input rows,
# packet headers), so they are not listed.
EVENT_KEYS = ("synaptic_ops", "weight_sram_reads", "fire_events")

# Single-count actions: breakdown key -> (ActionCounts field, energy table key).
_LINEAR = (("hrc_macs", "hrc_macs", "hrc_mac_pj"),
           ("input_sram_reads", "input_sram_reads", "input_sram_read_pj"),
           ("input_sram_writes", "input_sram_writes", "input_sram_write_pj"),
           ("weight_sram_reads", "weight_sram_reads", "weight_sram_read_pj"),
           ("noc_flit_hops", "noc_flit_hops", "noc_flit_hop_pj"),
           ("dma_weights", "dma_weight_bytes", "dma_weight_pj_per_byte"),
           ("dma_input", "dma_input_bytes", "dma_input_pj_per_byte"),
           ("dma_output", "dma_output_bytes", "dma_output_pj_per_byte"),
           ("threshold_fire", "neurons_updated", "neuron_update_pj"),
           ("fire_events", "neurons_fired", "neuron_fire_pj"),
           ("reconfiguration", "reconfig_bytes", "reconfig_pj_per_byte"))
REQUIRED_PARAMS = tuple(sorted({p for _, _, p in _LINEAR} | {
    "synop_acc_pj", "synop_mul_pj_per_bit2", "np_active_cycle_pj", "frame_overhead_uj",
    "chip_idle_mw",
    "np_leakage_mw", "node_leakage_mw", "board_floor_mw"}))
_DEFAULT_BITS = 8  # width assumed when a count carries no bit width


class EnergyParamError(ParamError):
    """An energy table or an override is missing, unknown or not a finite non-negative number."""


# ----- energy tables ---------------------------------------------------------------------------
def _table_files() -> list[str]:
    return sorted(glob.glob(os.path.join(PARAMS_DIR, "energy_*.json")))


def load_table(name: str) -> dict:
    """The energy table ``nsoc/hardware/params/energy_<name>.json`` (or a path to a json file)."""
    path = name if name.endswith(".json") else os.path.join(PARAMS_DIR, f"energy_{name}.json")
    if not os.path.isfile(path):
        known = [os.path.basename(f)[7:-5] for f in _table_files()]
        raise EnergyParamError(f"no energy table '{name}'; built-in tables are {known}")
    table = read_json(path)
    missing = [k for k in REQUIRED_PARAMS if k not in table.get("params", {})]
    if missing:
        raise EnergyParamError(f"energy table {path} lacks {missing}; add them with value, unit "
                               f"and source")
    return table


def table_for(device) -> dict:
    """The energy table of ``device`` (a Device or a device name): listed by name, else the
    table declared ``default_for_ip`` for the device's IP version (custom meshes)."""
    name = device if isinstance(device, str) else getattr(device, "name", "")
    ip = None if isinstance(device, str) else getattr(device, "ip_version", None)
    tables = [load_table(f) for f in _table_files()]
    for table in tables:
        if name in table.get("devices", ()):
            return table
    for table in tables:
        if ip is not None and table.get("default_for_ip") == ip:
            return table
    known = sorted(d for t in tables for d in t.get("devices", ()))
    raise EnergyParamError(f"no energy table for device '{name}'; known devices are {known} "
                           f"(pass a Device object to use its IP version's table)")


def resolve_params(device, overrides: dict | None = None) -> dict:
    """Energy constants ``{key: {"value", "unit", "source"}}`` for ``device``: its table, then
    energy keys found in the device's own ``params``, then ``overrides`` ({key: number} or
    {key: {"value": number}}), each override's source marked "override"."""
    return _resolve(device, overrides)[1]


def _resolve(device, overrides):
    table = table_for(device)
    params = {k: dict(v, table=table["name"]) for k, v in table["params"].items()}
    merge_device_params(params, device, keep_source=True, extra={"table": "device"})
    apply_overrides(params, overrides, kind="energy", error=EnergyParamError,
                    extra={"table": "override"})
    check_values(params, kind="energy", error=EnergyParamError)
    for entry in params.values():
        entry["value"] = float(entry["value"])
    return table["name"], params


def parse_overrides(items) -> dict:
    """``["key=value", ...]`` (command-line form) -> {key: float}."""
    return parse_key_values(items, option="--energy-param", example="np_active_cycle_pj=2.5",
                            error=EnergyParamError)


# ----- the model ---------------------------------------------------------------------------------
def synop_pj(params: dict, weight_bits: int, input_bits: int) -> float:
    """Energy (pJ) of one synaptic op at the given weight and input bit widths."""
    wb = weight_bits or _DEFAULT_BITS
    ib = input_bits or _DEFAULT_BITS
    return params["synop_acc_pj"]["value"] + params["synop_mul_pj_per_bit2"]["value"] * wb * ib


def dynamic_breakdown_uj(counts: dict, busy_cycles: float, params: dict) -> dict:
    """Dynamic energy (uJ) by category for per-frame ``counts`` (an ActionCounts.per_frame dict)
    and NP busy cycles per frame."""
    out = {"synaptic_ops": counts["synaptic_ops"] * synop_pj(
        params, counts["weight_bits"], counts["input_bits"]) * 1e-6}
    for key, count_name, param in _LINEAR:
        out[key] = counts[count_name] * params[param]["value"] * 1e-6
    out["np_active_cycles"] = busy_cycles * params["np_active_cycle_pj"]["value"] * 1e-6
    return {k: out.get(k, 0.0) for k in DYNAMIC_KEYS}


@dataclass
class EnergyResult:
    """Energy per frame and average power of a simulated run.

    ``energy_per_frame_uj``: chip dynamic energy per frame (no leakage, no board floor);
    ``energy_breakdown_uj``: that energy by action plus ``"static"`` (static power / fps), so
    its values sum to ``total_energy_per_frame_uj``; ``power_mw``: {"chip", "board"} average
    power at ``fps``; ``layers``/``nps``: dynamic energy per frame of each layer / NP component
    (they sum to ``energy_per_frame_uj`` minus the ``"frame_overhead"`` entry).
    """

    device: str
    table: str
    fps: float
    n_frames: int
    energy_per_frame_uj: float
    static_energy_per_frame_uj: float
    total_energy_per_frame_uj: float
    board_energy_per_frame_uj: float
    energy_breakdown_uj: dict
    static_mw: dict
    power_mw: dict
    layers: list = field(default_factory=list)
    nps: list = field(default_factory=list)
    params: dict = field(default_factory=dict)

    @property
    def event_energy_uj(self) -> float:
        """Dynamic energy per frame of the event-driven actions (zero when no event flows)."""
        return sum(self.energy_breakdown_uj[k] for k in EVENT_KEYS)

    def layer(self, name: str) -> dict:
        for lay in self.layers:
            if lay["name"] == name:
                return lay
        raise KeyError(f"no layer '{name}' in this energy result")

    def to_dict(self) -> dict:
        return {"device": self.device, "table": self.table, "fps": self.fps,
                "n_frames": self.n_frames, "energy_per_frame_uj": self.energy_per_frame_uj,
                "static_energy_per_frame_uj": self.static_energy_per_frame_uj,
                "total_energy_per_frame_uj": self.total_energy_per_frame_uj,
                "board_energy_per_frame_uj": self.board_energy_per_frame_uj,
                "energy_breakdown_uj": dict(self.energy_breakdown_uj),
                "static_mw": dict(self.static_mw), "power_mw": dict(self.power_mw),
                "layers": [dict(lay) for lay in self.layers],
                "nps": [dict(n) for n in self.nps],
                "params": {k: dict(v) for k, v in self.params.items()}}


def estimate(timing_result: TimingResult, device, overrides: dict | None = None) -> EnergyResult:
    """Energy per frame and power of ``timing_result`` on ``device`` (Device or name).

    ``overrides``: {energy parameter: value} replacing table entries (what-if studies).
    Raises :class:`EnergyParamError` for an unknown parameter or device, and when the run has
    no positive fps to turn energy into power.
    """
    table_name, params = _resolve(device, overrides)
    tr = timing_result
    n = max(int(tr.n_frames), 1)
    if not tr.fps > 0:
        raise EnergyParamError(f"the timing result has fps={tr.fps!r}; energy needs a run of at "
                               f"least one frame with a positive frame rate")
    np_busy: dict[str, float] = {}
    for npt in tr.nps:
        np_busy[npt.layer] = np_busy.get(npt.layer, 0) + npt.busy_cycles
    layers = []
    total = dict.fromkeys(DYNAMIC_KEYS, 0.0)
    for lay in tr.layers:
        busy = np_busy.get(lay.name, lay.busy_cycles * max(lay.n_nps, 1))
        bd = dynamic_breakdown_uj(lay.actions.per_frame(n), busy / n, params)
        for k, v in bd.items():
            total[k] += v
        layers.append({"name": lay.name, "type": lay.type, "energy_uj": sum(bd.values()),
                       "breakdown_uj": bd})
    nps = []
    for npt in tr.nps:
        e = sum(dynamic_breakdown_uj(npt.actions.per_frame(n), npt.busy_cycles / n,
                                     params).values())
        nps.append({"col": npt.col, "row": npt.row, "id": npt.id, "layer": npt.layer,
                    "type": npt.type, "energy_uj": e})
    total["frame_overhead"] = params["frame_overhead_uj"]["value"]
    dynamic = sum(total.values())
    idents = {(n_.col, n_.row, n_.id) for n_ in tr.nps}
    nodes = {(c, r) for c, r, _ in idents}
    static_mw = {"chip_idle": params["chip_idle_mw"]["value"],
                 "np_leakage": params["np_leakage_mw"]["value"] * len(idents),
                 "node_leakage": params["node_leakage_mw"]["value"] * len(nodes)}
    static_total = sum(static_mw.values())
    static_mw["total"] = static_total
    fps = float(tr.fps)
    static_uj = static_total / fps * 1e3  # mW / (frames/s) = mJ per frame
    chip_mw = dynamic * fps * 1e-3 + static_total  # uJ x 1/s = uW
    board_mw = chip_mw + params["board_floor_mw"]["value"]
    breakdown = dict(total)
    breakdown[STATIC_KEY] = static_uj
    return EnergyResult(
        device=tr.device, table=table_name,
        fps=fps, n_frames=int(tr.n_frames), energy_per_frame_uj=dynamic,
        static_energy_per_frame_uj=static_uj, total_energy_per_frame_uj=dynamic + static_uj,
        board_energy_per_frame_uj=board_mw / fps * 1e3, energy_breakdown_uj=breakdown,
        static_mw=static_mw, power_mw={"chip": chip_mw, "board": board_mw}, layers=layers,
        nps=nps, params=params)


__all__ = ["estimate", "EnergyResult", "EnergyParamError", "resolve_params", "table_for",
           "load_table", "parse_overrides", "synop_pj", "DYNAMIC_KEYS", "EVENT_KEYS"]

"""Sweep specifications: the TOML file of ``nsoc sweep SPEC.toml`` and its cross product.

A spec names the axes of a design-space study; :func:`expand` turns it into one
:class:`Config` per point of their cross product::

    frames = [1, 8]                     # frames simulated per configuration (default [8])
    devices = ["AKD1000", "AKD1500", "custom:60,4"]
    modes = ["AllNps", "Minimal"]       # mapping modes (default ["AllNps"])
    clock_modes = ["Performance"]       # (default ["Performance"])

    [[models]]
    file = "fixtures/kws_dscnn.fbz"     # an nsoc model file (relative to the spec's folder)

    [[models]]
    zoo = "akidanet"                    # a zoo architecture; every other key is a parameter,
    alpha = [0.25, 0.5]                 # a list expands into one model per value
    size = 160
    target = "v1"

    [[inputs]]
    file = "data.npy"                   # frames from a .npy (models of another shape skip it)
    [[inputs]]
    random = true                       # random frames of each model's input shape ...
    sparsity = [0.5, 0.7]               # ... with a sparsity profile (number or JSON file)
    seed = 0

    [timing]                            # timing-parameter grid: one value or a list each
    router_latency_cycles = [2, 4]
    [energy]                            # energy-parameter grid
    np_active_cycle_pj = [2.0, 3.0]

``custom:CNP,FNP[,SKIP_DMA][,v1|v2]`` is a custom mesh (:func:`nsoc.hardware.device.
create_device`); without a version it takes the model's.  Pairs of a model and a device of
another Akida version are left out (``include_incompatible = true`` keeps them as error rows).
"""
from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, field

from ..errors import InputError

DEFAULT_FRAMES = 8
CLOCK_MODES = ("Performance", "Economy", "LowPower")
MAP_MODES = ("AllNps", "Minimal", "HwPr")
TOP_KEYS = {"frames", "devices", "modes", "clock_modes", "models", "inputs", "timing", "energy",
            "include_incompatible", "name", "seed"}


class SpecError(InputError):
    """A sweep spec is malformed; the message names the key and the fix."""


def _load_toml(path: str) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    if not os.path.isfile(path):
        raise SpecError(f"sweep spec not found: {path}; pass a TOML file (see `nsoc sweep -h`)")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path} is not valid TOML ({exc}); fix the line it names") from None


def _as_list(value, key: str) -> list:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise SpecError(f"'{key}' is an empty list; give at least one value or remove it")
    return values


@dataclass(frozen=True)
class ModelRef:
    """A model: an ``.fbz`` file or a zoo entry with its parameters."""
    label: str
    file: str | None = None
    zoo: str | None = None
    params: tuple = ()  # sorted (key, value) pairs of a zoo entry

    def to_dict(self) -> dict:
        return {"label": self.label, "file": self.file, "zoo": self.zoo,
                "params": dict(self.params)}


@dataclass(frozen=True)
class InputRef:
    """Frames for a configuration: a ``.npy`` file or random frames, with a sparsity profile."""
    label: str
    file: str | None = None
    seed: int = 0
    sparsity: float | tuple | None = None  # number, sorted (layer, sparsity) pairs, or None
    #                                            (None: the real activations of the frames)

    def to_dict(self) -> dict:
        sparsity = dict(self.sparsity) if isinstance(self.sparsity, tuple) else self.sparsity
        return {"label": self.label, "file": self.file, "seed": self.seed,
                "sparsity": sparsity}


@dataclass(frozen=True)
class DeviceRef:
    """A built-in device name or a custom mesh ``(cnp, fnp, skip_dma, ip_version or None)``."""
    label: str
    name: str | None = None
    custom: tuple | None = None

    def to_dict(self) -> dict:
        return {"label": self.label, "name": self.name,
                "custom": list(self.custom) if self.custom else None}


@dataclass(frozen=True)
class Config:
    """One point of a sweep (JSON-ready with :meth:`to_dict`)."""
    model: ModelRef
    input: InputRef
    device: DeviceRef
    mode: str
    clock_mode: str
    frames: int
    timing: tuple = ()  # sorted (parameter, value) pairs
    energy: tuple = ()

    def to_dict(self) -> dict:
        return {"model": self.model.to_dict(), "input": self.input.to_dict(),
                "device": self.device.to_dict(), "mode": self.mode,
                "clock_mode": self.clock_mode, "frames": self.frames,
                "timing": dict(self.timing), "energy": dict(self.energy)}


@dataclass
class SweepSpec:
    """A parsed spec: the values of every axis."""
    models: list[ModelRef]
    inputs: list[InputRef]
    devices: list[DeviceRef]
    modes: list[str]
    clock_modes: list[str]
    frames: list[int]
    timing: list[dict] = field(default_factory=lambda: [{}])
    energy: list[dict] = field(default_factory=lambda: [{}])
    include_incompatible: bool = False
    name: str = "sweep"
    source: dict = field(default_factory=dict)  # the document as read (for sweep.json)


# ----- parsing -----------------------------------------------------------------------------------
def parse_device(text: str) -> DeviceRef:
    """``AKD1000`` (built-in, case-insensitive) or ``custom:CNP,FNP[,SKIP][,v1|v2]``."""
    if not isinstance(text, str) or not text.strip():
        raise SpecError(f"a device is a name such as 'AKD1000' or 'custom:60,4', got {text!r}")
    text = text.strip()
    if not text.lower().startswith("custom:"):
        from ..hardware.device import list_devices
        names = {n.lower(): n for n in list_devices()}
        if text.lower() not in names:
            raise SpecError(f"unknown device '{text}' in 'devices'; built-in devices are "
                            f"{', '.join(list_devices())}, or use custom:CNP,FNP[,SKIP][,v1|v2]")
        return DeviceRef(names[text.lower()], name=names[text.lower()])
    parts = [p.strip() for p in text[7:].split(",") if p.strip()]
    ip = None
    if parts and parts[-1] in ("v1", "v2"):
        ip = parts.pop()
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) not in (2, 3) or min(nums) < 0:
        raise SpecError(f"custom device '{text}': write custom:CNP,FNP[,SKIP_DMA][,v1|v2] with "
                        f"non-negative integers, e.g. custom:60,4")
    cnp, fnp, skip = nums[0], nums[1], nums[2] if len(nums) == 3 else 0
    if not 1 <= -(-(cnp + fnp) // 4) <= 128:
        raise SpecError(f"custom device '{text}': {cnp + fnp} NPs; a mesh has 1 to 128 nodes "
                        f"of 4 NPs")
    label = f"custom:{cnp},{fnp}" + (f",{skip}" if skip else "") + (f",{ip}" if ip else "")
    return DeviceRef(label, custom=(cnp, fnp, skip, ip))


def _grid(table, key: str) -> list[dict]:
    """``{param: value or [values]}`` -> the list of every combination (sorted keys)."""
    if table is None:
        return [{}]
    if not isinstance(table, dict):
        raise SpecError(f"[{key}] must be a table of parameter = value or [values]")
    keys = sorted(table)
    for k in keys:
        for v in _as_list(table[k], f"{key}.{k}"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise SpecError(f"{key}.{k} needs numbers, got {v!r}")
    values = [_as_list(table[k], f"{key}.{k}") for k in keys]
    return [dict(zip(keys, combo, strict=False)) for combo in itertools.product(*values)]


def known_parameters() -> tuple[set, set]:
    """(timing, energy) parameter names a grid may set."""
    from ..hardware import energy
    from ..hardware.timing import timing_params
    tables = [energy.load_table(f) for f in energy._table_files()]
    return set(timing_params()), {k for t in tables for k in t.get("params", {})}


def _check_keys(grid: list[dict], known: set, kind: str) -> None:
    unknown = sorted({k for point in grid for k in point} - known)
    if unknown:
        raise SpecError(f"unknown {kind} parameter(s) {unknown} in [{kind}]; known: "
                        f"{', '.join(sorted(known))}")


def _models(entries, base: str) -> list[ModelRef]:
    if not isinstance(entries, list) or not entries:
        raise SpecError("the spec needs at least one [[models]] entry (file = ... or zoo = ...)")
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or ("file" in entry) == ("zoo" in entry):
            raise SpecError(f"models[{i}] needs exactly one of file = \"M.fbz\" or zoo = \"NAME\"")
        if "file" in entry:
            extra = sorted(set(entry) - {"file", "label"})
            if extra:
                raise SpecError(f"models[{i}] (a file) has unknown key(s) {extra}")
            path = os.path.join(base, entry["file"])
            if not os.path.isfile(path):
                raise SpecError(f"models[{i}]: model file not found: {path}")
            label = entry.get("label") or os.path.splitext(os.path.basename(path))[0]
            out.append(ModelRef(str(label), file=os.path.abspath(path)))
            continue
        name = entry["zoo"]
        params = {k: v for k, v in entry.items() if k not in ("zoo", "label")}
        keys = sorted(params)
        for combo in itertools.product(*[_as_list(params[k], f"models[{i}].{k}") for k in keys]):
            chosen = tuple(zip(keys, combo, strict=False))
            label = entry.get("label") or name
            if chosen:
                label += "[" + ",".join(f"{k}={v}" for k, v in chosen) + "]"
            out.append(ModelRef(label, zoo=str(name), params=chosen))
    return out


def _inputs(entries, base: str) -> list[InputRef]:
    if entries is None:
        return [InputRef("random", seed=0)]
    if not isinstance(entries, list) or not entries:
        raise SpecError("'inputs' is a list of [[inputs]] tables (file = ... or random = true)")
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or ("file" in entry) == bool(entry.get("random")):
            raise SpecError(f"inputs[{i}] needs exactly one of file = \"X.npy\" or random = true")
        extra = sorted(set(entry) - {"file", "random", "sparsity", "seed", "label"})
        if extra:
            raise SpecError(f"inputs[{i}] has unknown key(s) {extra}; use file, random, "
                            f"sparsity, seed, label")
        seed = entry.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise SpecError(f"inputs[{i}].seed must be an integer, got {seed!r}")
        path = None
        if "file" in entry:
            path = os.path.abspath(os.path.join(base, entry["file"]))
            if not os.path.isfile(path):
                raise SpecError(f"inputs[{i}]: input file not found: {path}")
        for sp in _as_list(entry.get("sparsity"), f"inputs[{i}].sparsity"):
            sp, profile_file = _sparsity(sp, base, f"inputs[{i}].sparsity")
            label = entry.get("label") or (os.path.basename(path) if path else f"random{seed}")
            if sp is not None:
                label += f"@sparsity={profile_file or sp}"
            out.append(InputRef(str(label), file=path, seed=seed, sparsity=sp))
    return out


def _sparsity(value, base: str, key: str):
    """A profile (:mod:`nsoc.hardware.sparsity`): a number, or a JSON file read here (so its
    layers travel with the task) -> (sorted (layer, sparsity) pairs, file name)."""
    from ..hardware.sparsity import parse_profile
    if value is None:
        return None, None
    if isinstance(value, str):
        path = os.path.abspath(os.path.join(base, value))
        if not os.path.isfile(path):
            raise SpecError(f"{key}: sparsity profile not found: {path}")
        return tuple(sorted(parse_profile(path).layers.items())), os.path.basename(path)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise SpecError(f"{key} is a number in [0, 1] or a JSON profile file, got {value!r}")
    return float(value), None


def _choice(doc, key: str, allowed, default) -> list[str]:
    values = _as_list(doc.get(key, default), key)
    bad = [v for v in values if v not in allowed]
    if bad:
        raise SpecError(f"unknown {key} {bad}; use {', '.join(allowed)}")
    return list(dict.fromkeys(values))


def spec_from_dict(doc: dict, base: str = ".") -> SweepSpec:
    """Validate a spec document (as read from TOML); paths are relative to ``base``."""
    if not isinstance(doc, dict):
        raise SpecError("a sweep spec is a TOML table")
    unknown = sorted(set(doc) - TOP_KEYS)
    if unknown:
        raise SpecError(f"unknown key(s) {unknown} in the spec; known keys: "
                        f"{', '.join(sorted(TOP_KEYS))}")
    frames = _as_list(doc.get("frames", DEFAULT_FRAMES), "frames")
    if not all(isinstance(f, int) and not isinstance(f, bool) and f >= 1 for f in frames):
        raise SpecError(f"'frames' are integers >= 1, got {frames}")
    if "devices" not in doc:
        raise SpecError("the spec needs 'devices = [...]' (built-in names or custom:CNP,FNP)")
    devices = [parse_device(d) for d in _as_list(doc["devices"], "devices")]
    timing, energy = _grid(doc.get("timing"), "timing"), _grid(doc.get("energy"), "energy")
    known_timing, known_energy = known_parameters()
    _check_keys(timing, known_timing, "timing")
    _check_keys(energy, known_energy, "energy")
    return SweepSpec(
        models=_models(doc.get("models"), base), inputs=_inputs(doc.get("inputs"), base),
        devices=list(dict.fromkeys(devices)), modes=_choice(doc, "modes", MAP_MODES, "AllNps"),
        clock_modes=_choice(doc, "clock_modes", CLOCK_MODES, "Performance"),
        frames=list(dict.fromkeys(frames)), timing=timing, energy=energy,
        include_incompatible=bool(doc.get("include_incompatible", False)),
        name=str(doc.get("name", "sweep")), source=json.loads(json.dumps(doc, default=str)))


def load_spec(path: str) -> SweepSpec:
    """Read and validate ``path`` (TOML); file paths inside are relative to its folder."""
    return spec_from_dict(_load_toml(path), os.path.dirname(os.path.abspath(path)))


def expand(spec: SweepSpec) -> list[Config]:
    """Every configuration of the cross product, models outermost (in spec order)."""
    return [Config(m, i, d, mode, clock, f, tuple(sorted(t.items())), tuple(sorted(e.items())))
            for m, i, d, mode, clock, f, t, e in itertools.product(
                spec.models, spec.inputs, spec.devices, spec.modes, spec.clock_modes,
                spec.frames, spec.timing, spec.energy)]


__all__ = ["SweepSpec", "Config", "ModelRef", "InputRef", "DeviceRef", "SpecError", "load_spec",
           "spec_from_dict", "expand", "parse_device"]

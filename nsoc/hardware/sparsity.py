"""Sparsity profiles: drive the timing and energy simulation at chosen input densities.

By default the cycle-level simulation takes its events from the real activations of the input
frames (``model.forward(x, outputs="all")``).  A *sparsity profile* replaces the input events of
chosen layers by events drawn at a given density, to ask "how fast will this be once trained
70 % sparse?" or to reproduce published per-layer input sparsity:

* a number in [0, 1]: the input sparsity (fraction of zero activations entering the layer) of
  every layer fed by another layer's events;
* a JSON file ``{layer name: input sparsity in [0, 1]}``: those layers only; the others keep
  their real activations.

A layer's input events are its inbound layers' outputs, so the profile redraws those outputs
(the inbound's emitted events and the layer's received events stay one and the same).  Layers
reading the model's dense input (the input convolution behind a ``Quantizer``/``InputData``,
or the first layer) and the ``Dequantizer`` cannot take a profile.

Drawing (:func:`redraw_events`), per frame and deterministic for a seed: exactly
``round(density * size)`` non-zero values; the real non-zero events are kept where possible
(a random subset of them when the target is sparser, all of them plus new ones at random zero
positions when it is denser), and new events take values drawn from the real non-zero values
of that output (uniform over the valid non-zero range of its bit width when it has none), so
values stay valid for the bit width and keep their distribution.
"""
from __future__ import annotations

import json
import math
import os
import zlib
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

INPUT_TYPES = frozenset({"Quantizer", "InputData"})
NO_PROFILE_TYPES = frozenset({"Dequantizer"})


@dataclass(frozen=True)
class SparsityProfile:
    """A parsed profile: ``uniform`` (every event-fed layer) or ``layers`` {name: sparsity}."""

    uniform: float | None = None
    layers: dict = field(default_factory=dict)
    file: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready description (what report.json records)."""
        if self.uniform is not None:
            return {"sparsity": self.uniform}
        return {"file": self.file, "layers": dict(self.layers)}


def _check_value(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where}: sparsity {value!r} is not a number; use a number in [0, 1]")
    value = float(value)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise InputError(f"{where}: sparsity {value:g} is outside [0, 1]; use the fraction of "
                         f"zero activations, e.g. 0.7")
    return value


def parse_profile(profile) -> SparsityProfile:
    """A :class:`SparsityProfile` from a number, a ``{layer: sparsity}`` dict, a profile, or the
    command line's text (a number, or the path of a JSON file).  InputError (one line) on a bad
    value, a missing or malformed file."""
    if isinstance(profile, SparsityProfile):
        return profile
    if isinstance(profile, dict):
        return SparsityProfile(layers={str(k): _check_value(v, f"sparsity profile layer '{k}'")
                                       for k, v in profile.items()})
    if isinstance(profile, (int, float)) and not isinstance(profile, bool):
        return SparsityProfile(uniform=_check_value(profile, "--sparsity"))
    text = str(profile)
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        return SparsityProfile(uniform=_check_value(number, "--sparsity"))
    if not os.path.isfile(text):
        raise InputError(f"--sparsity {text}: neither a number in [0, 1] nor an existing JSON "
                         f"file {{layer name: input sparsity}}")
    try:
        with open(text, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"sparsity profile {text} is not valid JSON ({exc}); write "
                         f"{{\"layer name\": input sparsity in [0, 1]}}") from None
    if not isinstance(data, dict) or not data:
        raise InputError(f"sparsity profile {text} must be a non-empty JSON object "
                         f"{{\"layer name\": input sparsity in [0, 1]}}")
    layers = {str(k): _check_value(v, f"sparsity profile {text}, layer '{k}'")
              for k, v in data.items()}
    return SparsityProfile(layers=layers, file=text)


def _reads_model_input(model, layer) -> bool:
    return not layer.inbounds or all(model.get_layer(i).TYPE in INPUT_TYPES
                                     for i in layer.inbounds)


def profiled_layers(model) -> list:
    """Names of the layers a profile can set: fed by other layers' events."""
    skip = INPUT_TYPES | NO_PROFILE_TYPES
    return [lay.name for lay in model.layers
            if lay.TYPE not in skip and not _reads_model_input(model, lay)]


def _short_list(names: list, n: int = 8) -> str:
    return ", ".join(names[:n]) + (f", ... ({len(names)} layers)" if len(names) > n else "")


def resolve_profile(model, profile) -> dict:
    """{layer name: input density} of every layer the profile sets on ``model``; InputError on
    an unknown layer, a layer reading the model's dense input, or two layers sharing an
    inbound with different values."""
    profile = parse_profile(profile)
    allowed = profiled_layers(model)
    if profile.uniform is not None:
        return {name: 1.0 - profile.uniform for name in allowed}
    known = {lay.name for lay in model.layers}
    unknown = [n for n in profile.layers if n not in known]
    if unknown:
        raise InputError(f"sparsity profile names unknown layer(s) {', '.join(unknown)}; the "
                         f"model's layers are {_short_list([lay.name for lay in model.layers])}")
    refused = [n for n in profile.layers if n not in allowed]
    if refused:
        raise InputError(f"sparsity profile names {', '.join(refused)}, which read(s) the "
                         f"model's dense input or run(s) in software; profile layers fed by "
                         f"other layers: {_short_list(allowed)}")
    return {name: 1.0 - value for name, value in profile.layers.items()}


def output_densities(model, profile) -> dict:
    """{inbound layer name: density of its outputs} that realises the profile's input
    densities; InputError when two consumers of one output ask for different densities."""
    wanted: dict = {}
    by: dict = {}
    for name, density in resolve_profile(model, profile).items():
        for inbound in model.get_layer(name).inbounds:
            if inbound in wanted and not math.isclose(wanted[inbound], density):
                raise InputError(f"sparsity profile: layers '{by[inbound]}' and '{name}' both "
                                 f"read the outputs of '{inbound}' and cannot have different "
                                 f"input sparsity; give them the same value")
            wanted[inbound], by[inbound] = density, name
    return wanted


def _value_range(layer) -> tuple:
    bits = int(layer.output_bits)
    if layer.output_signed:
        return -(1 << (bits - 1)), (1 << min(bits - 1, 31)) - 1
    return 1, (1 << min(bits, 31)) - 1


def redraw_events(values: np.ndarray, density: float, rng: np.random.Generator,
                  value_range: tuple = (1, 15)) -> np.ndarray:
    """A copy of ``values`` (frames first) with exactly ``round(density * size)`` non-zero
    values per frame (see the module docstring); ``value_range`` (lo, hi) bounds new values
    when ``values`` has no non-zero value to copy the distribution from."""
    values = np.asarray(values)
    if not 0.0 <= density <= 1.0:
        raise InputError(f"density {density} is outside [0, 1]")
    out = np.array(values, copy=True).reshape(values.shape[0], -1)
    size = out.shape[1]
    target = int(round(density * size))
    pool = values[values != 0]
    lo, hi = value_range
    for frame in out:
        nonzero = np.flatnonzero(frame)
        if len(nonzero) > target:
            frame[rng.permutation(nonzero)[:len(nonzero) - target]] = 0
        elif len(nonzero) < target:
            zeros = np.flatnonzero(frame == 0)
            new = rng.permutation(zeros)[:target - len(nonzero)]
            if pool.size:
                frame[new] = rng.choice(pool, size=len(new))
            else:
                drawn = rng.integers(lo, hi + 1, size=len(new))
                frame[new] = np.where(drawn == 0, 1, drawn)
    return out.reshape(values.shape)


def layer_seed(seed: int, name: str) -> np.random.Generator:
    """The generator of one layer's draw: independent of the order layers are visited."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


def apply_profile(model, activations: dict, profile, seed: int = 0) -> dict:
    """A new {layer: outputs} dict where the outputs feeding the profiled layers are redrawn
    at the profile's input densities (others are the same arrays, unchanged)."""
    out = dict(activations)
    for inbound, density in output_densities(model, profile).items():
        if inbound not in activations:
            raise InputError(f"activations lack layer '{inbound}', whose outputs feed a "
                             f"profiled layer")
        out[inbound] = redraw_events(activations[inbound], density,
                                     layer_seed(seed, inbound),
                                     _value_range(model.get_layer(inbound)))
    return out


def input_density(model, activations: dict, name: str) -> float:
    """Fraction of non-zero values entering layer ``name`` (over its inbounds and frames)."""
    arrays = [np.asarray(activations[i]) for i in model.get_layer(name).inbounds]
    total = sum(a.size for a in arrays)
    return sum(int(np.count_nonzero(a)) for a in arrays) / total if total else 0.0


def events_record(model=None, profile=None, seed: int = 0, activations: dict | None = None
                  ) -> dict:
    """What report.json records as ``events``: the source (``"activations"`` or
    ``"profile"``), and with a profile its description, seed and, given the drawn
    ``activations``, the measured input sparsity of every profiled layer."""
    if profile is None:
        return {"source": "activations"}
    profile = parse_profile(profile)
    record = {"source": "profile", "profile": profile.to_dict(), "seed": int(seed)}
    if model is not None and activations is not None:
        record["measured_input_sparsity"] = {
            name: round(1.0 - input_density(model, activations, name), 6)
            for name in resolve_profile(model, profile)}
    return record


__all__ = ["SparsityProfile", "apply_profile", "events_record", "input_density",
           "output_densities", "parse_profile", "profiled_layers", "redraw_events",
           "resolve_profile"]

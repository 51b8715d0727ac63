"""Constants of the hardware model, shared by timing and energy: files, merge, override, check.

A constant is an *entry* ``{"value": number, "unit": str, "source": str}`` (energy entries also
say which ``table`` they came from); a parameter set is ``{key: entry}``.  Every constant
carries its source: "published (where)", "calibrated (fit X, data Y)" or "assumption"; an
override replaces the value and marks the source ``"override"``.

* :func:`read_json` / :func:`read_entries`: parameter files, parsed once per (path, mtime, size);
* :func:`merge_device_params`: entries of a device file (``Device.params``) over a set;
* :func:`apply_overrides`: ``{key: number}`` (or ``{key: {"value": number}}``) over a set,
  unknown keys and non-numbers rejected;
* :func:`check_values`: every value a finite number >= 0 (and > 0 for the keys named);
* :func:`parse_key_values`: command-line ``KEY=VALUE`` items to ``{key: float}``;
* :func:`timing_params`: the timing constants of a device (``params/default.json``, the device
  file, ``params/<DEVICE>.json``, overrides).  The energy tables are composed in
  :mod:`nsoc.hardware.energy` with the same functions.
"""
from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path

from ..errors import NsocError

PARAMS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "params")
_DEFAULT_FILE = os.path.join(PARAMS_DIR, "default.json")

# timing constants that divide or count something: they must be > 0
POSITIVE_TIMING_KEYS = (
    "link_width_bits", "event_bits", "np_fire_block_rows", "np_input_fifo_events",
    "dma_input_bytes_per_cycle", "dma_output_bytes_per_cycle", "skip_dma_bytes_per_cycle",
    "fnp3_synops_per_cycle", "hrc_filter_lanes", "weight_word_bits")


class ParamError(NsocError):
    """A parameter file, key or value is missing, unknown or not a finite non-negative number."""


class TimingParamError(ParamError):
    """A timing parameter override names an unknown key or has a value that is not a number."""


_FILES: dict = {}  # parsed json files by (path, mtime, size)


def _cached_json(path: str | Path) -> dict:
    """The parsed json document at ``path``, parsed once per file version (shared: not to be
    changed)."""
    p = os.fspath(path)
    stat = os.stat(p)
    key = (p, stat.st_mtime_ns, stat.st_size)
    if key not in _FILES:
        with open(p) as fh:
            _FILES[key] = json.load(fh)
    return _FILES[key]


def read_json(path: str | Path) -> dict:
    """The parsed json document at ``path`` (a fresh deep copy; parsed once per file version)."""
    return copy.deepcopy(_cached_json(path))


def read_entries(path: str | Path) -> dict:
    """The entries ``{key: {"value", "unit", "source"}}`` of a flat parameter file (keys starting
    with ``_`` are documentation and skipped), copies."""
    return {k: dict(v) for k, v in _cached_json(path).items() if not k.startswith("_")}


def merge_device_params(params: dict, device, *, keep_source: bool = False,
                        extra: dict | None = None) -> dict:
    """``params`` with the entries of ``device.params`` (a device file's constants) whose key is
    already in ``params``.  ``keep_source``: keep the rest of the base entry (unit, ...) and
    take only value and source from the device (source "device file" when it has none);
    ``extra``: keys added to each merged entry (e.g. ``{"table": "device"}``)."""
    for key, entry in (getattr(device, "params", None) or {}).items():
        if key not in params or not isinstance(entry, dict) or "value" not in entry:
            continue
        if keep_source:
            params[key] = dict(params[key], value=entry["value"],
                               source=entry.get("source", "device file"))
        else:
            params[key] = dict(entry)
        params[key].update(extra or {})
    return params


def _number(value) -> float | None:
    """``value`` as a float, or None when it is not a number (bools are not numbers)."""
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def apply_overrides(params: dict, overrides: dict | None, *, kind: str,
                    error: type[ParamError] = ParamError, extra: dict | None = None) -> dict:
    """``params`` with ``overrides`` ({key: number, numeric string or {"value": number}})
    replacing values; each overridden entry's source becomes "override" (plus ``extra`` keys).
    Raises ``error`` naming the ``kind`` of parameter for an unknown key or a value that is not
    a finite number >= 0."""
    for key, value in (overrides or {}).items():
        if key not in params:
            raise error(f"unknown {kind} parameter '{key}'; known parameters: "
                        f"{', '.join(sorted(params))}")
        number = _number(value)
        if number is None:
            raise error(f"{kind} parameter '{key}' needs a number, got {value!r}")
        if not math.isfinite(number) or number < 0:
            raise error(f"{kind} parameter '{key}' must be a finite number >= 0, got {value!r}")
        params[key] = dict(params[key], value=number, source="override")
        params[key].update(extra or {})
    return params


def check_values(params: dict, *, kind: str, error: type[ParamError] = ParamError,
                 positive: tuple = ()) -> dict:
    """Raise ``error`` unless every value is a finite number >= 0 and those of ``positive``
    keys (when present) are > 0; returns ``params``."""
    for key, entry in params.items():
        value = entry.get("value")
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or value < 0):
            raise error(f"{kind} parameter '{key}' must be a finite number >= 0, got {value!r}")
    for key in positive:
        if key in params and not params[key]["value"] > 0:
            raise error(f"{kind} parameter '{key}' must be > 0, got {params[key]['value']}")
    return params


def parse_key_values(items, *, option: str = "--param", example: str = "key=1.5",
                     error: type[ParamError] = ParamError) -> dict:
    """Command-line ``["key=value", ...]`` to ``{key: float}``; raises ``error`` naming
    ``option`` and an ``example`` for an item that is not KEY=NUMBER."""
    out = {}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        number = _number(value) if sep and key.strip() else None
        if number is None:
            raise error(f"{option} expects KEY=NUMBER (e.g. {option} {example}), got {item!r}")
        out[key.strip()] = number
    return out


def values(params: dict) -> dict:
    """``{key: value}`` of a parameter set."""
    return {k: v["value"] for k, v in params.items()}


def timing_params(device=None, overrides: dict | None = None) -> dict:
    """The timing constants for ``device`` (a Device, a device name or None for the defaults).

    Merged in order: ``params/default.json``, the timing keys of the device file
    (``device.params``), ``params/<DEVICE>.json``, then ``overrides`` ({key: number}).  Each
    entry is ``{"value", "unit", "source"}``; overridden entries get source "override".
    Raises :class:`TimingParamError` for an unknown key or a bad value.
    """
    params = read_entries(_DEFAULT_FILE)
    merge_device_params(params, device)
    name = device if isinstance(device, str) else getattr(device, "name", None)
    dev_file = os.path.join(PARAMS_DIR, f"{name}.json") if name else None
    if dev_file and os.path.isfile(dev_file):
        params.update(read_entries(dev_file))
    apply_overrides(params, overrides, kind="timing", error=TimingParamError)
    return check_values(params, kind="timing", error=TimingParamError,
                        positive=POSITIVE_TIMING_KEYS)


def parse_timing_overrides(items) -> dict:
    """``--param KEY=VALUE`` items to ``{key: float}`` (:class:`TimingParamError` on a bad one)."""
    return parse_key_values(items, option="--param", example="router_latency_cycles=4",
                            error=TimingParamError)

"""The zoo's entries: names, parameters with defaults, supported targets, builders."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import InputError
from ..model import Model
from .builder import DEFAULT_DENSITY


@dataclass(frozen=True)
class ZooParam:
    """A build parameter: name, default value, type (int or float), help text, allowed values
    (None: any value the builder accepts)."""

    name: str
    default: int | float
    kind: type
    help: str
    choices: tuple | None = None
    lo: float | None = None     # smallest allowed value (inclusive)
    hi: float | None = None     # largest allowed value (inclusive)
    lo_open: bool = False       # lo itself excluded

    def parse(self, value) -> int | float:
        """``value`` (a number or the command line's string) as this parameter's type."""
        parsed: int | float
        try:
            if self.kind is int:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                parsed = int(str(value), 10) if isinstance(value, str) else int(value)
            else:
                parsed = float(value)
        except (TypeError, ValueError):
            raise InputError(f"{self.name}={value!r} is not a valid "
                             f"{'integer' if self.kind is int else 'number'}") from None
        if self.choices is not None and parsed not in self.choices:
            raise InputError(f"{self.name}={value} is not supported: use one of "
                             f"{', '.join(str(c) for c in self.choices)}")
        below = self.lo is not None and (parsed <= self.lo if self.lo_open else parsed < self.lo)
        if below or (self.hi is not None and parsed > self.hi):
            lo = "" if self.lo is None else f"{'>' if self.lo_open else '>='} {self.lo:g}"
            hi = "" if self.hi is None else f"<= {self.hi:g}"
            raise InputError(f"{self.name}={parsed} is out of range: use a value "
                             f"{' and '.join(x for x in (lo, hi) if x)}")
        return parsed


# Bit widths, activation density and seed: every entry takes them.
COMMON_PARAMS = (
    ZooParam("weight_bits", 4, int, "weight bits of every layer but the first", (2, 4, 8)),
    ZooParam("act_bits", 4, int, "activation bits (v1: 1, 2 or 4)", (1, 2, 4, 8)),
    ZooParam("input_weight_bits", 8, int, "weight bits of the input convolution", (4, 8)),
    ZooParam("density", DEFAULT_DENSITY, float,
             "fraction of non-zero activations the thresholds are calibrated for",
             lo=0.0, hi=0.95, lo_open=True),
    ZooParam("seed", 0, int, "random seed of weights and calibration frames", lo=0),
)


@dataclass(frozen=True)
class ZooEntry:
    """One zoo architecture.

    ``builder(target, **params)`` returns an :class:`nsoc.Model`; ``devices`` names, per
    target, a built-in device the default build maps on (``None`` with ``unmappable`` saying
    why no built-in device holds it).
    """

    name: str
    summary: str
    source: str
    targets: tuple
    params: tuple
    builder: Callable[..., Model]
    devices: dict = field(default_factory=dict)
    unmappable: dict = field(default_factory=dict)

    @property
    def all_params(self) -> tuple:
        return tuple(self.params) + COMMON_PARAMS

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.all_params}

    def resolve(self, target: str, params: dict) -> dict:
        """Defaults overridden by ``params`` (parsed and checked); InputError on a problem."""
        if target not in self.targets:
            raise InputError(f"zoo entry '{self.name}' is built for {' and '.join(self.targets)}, "
                             f"not {target!r}")
        known = {p.name: p for p in self.all_params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise InputError(f"zoo entry '{self.name}' has no parameter(s) {unknown}; its "
                             f"parameters are {', '.join(known)}")
        resolved = self.defaults()
        for key, value in params.items():
            resolved[key] = known[key].parse(value)
        if target == "v1" and resolved["act_bits"] > 4:
            raise InputError(f"act_bits={resolved['act_bits']} is not supported on v1: Akida 1.0 "
                             f"activations have 1, 2 or 4 bits")
        return resolved

    def build(self, target: str = "v2", **params) -> Model:
        resolved = self.resolve(target, params)
        model = self.builder(target, **resolved)
        return model


def builder_kwargs(params: dict) -> dict:
    """The :class:`~nsoc.zoo.builder.ZooBuilder` keyword arguments among ``params``."""
    return {p.name: params[p.name] for p in COMMON_PARAMS}


_ENTRIES: dict[str, ZooEntry] = {}


def register(entry: ZooEntry) -> ZooEntry:
    if entry.name in _ENTRIES:
        raise ValueError(f"zoo entry {entry.name!r} registered twice")
    _ENTRIES[entry.name] = entry
    return entry


def entries() -> list[ZooEntry]:
    """Every zoo entry, in registration order."""
    return list(_ENTRIES.values())


def get(name: str) -> ZooEntry:
    try:
        return _ENTRIES[name]
    except KeyError:
        raise InputError(f"unknown zoo entry {name!r}; `nsoc zoo list` shows the entries: "
                         f"{', '.join(_ENTRIES)}") from None


def build(name: str, target: str = "v2", **params) -> Model:
    """Build zoo entry ``name`` for ``target`` ("v1" or "v2") with ``params`` overriding its
    defaults (see :func:`entries` / ``nsoc zoo list``)."""
    return get(name).build(target, **params)


def metadata(entry: str, target: str, params: dict) -> dict:
    """The metadata stored in a zoo model (.fbz): entry, target, every parameter, source."""
    meta = {"source": f"nsoc.zoo {entry}", "zoo_entry": entry, "zoo_target": target}
    meta.update({f"zoo_{k}": str(v) for k, v in params.items()})
    return meta

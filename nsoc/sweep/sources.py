"""What a sweep task needs, prepared once by the driver: model bytes, input frames, devices, and
the content hashes that key the result cache.

A model is shipped to workers as its ``.fbz`` bytes (keyed by their SHA-256); ``.npy`` frames as
an array (keyed by the hash of the frames used); random frames are generated where they are used
(:func:`random_frames`, deterministic in the seed).  The cache key of a configuration is the hash
of (model bytes, configuration, nsoc version, the device's effective constants).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, NsocError
from .spec import Config, DeviceRef, InputRef, ModelRef, SpecError


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(obj) -> str:
    """Deterministic JSON (sorted keys, no spaces) used for hashing."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


@dataclass
class LoadedModel:
    """A model prepared by the driver: its bytes, hash, IP version and input shape/dtype."""
    ref: ModelRef
    data: bytes
    hash: str
    ip_version: str
    input_shape: tuple
    macs: int
    n_layers: int


def build_zoo_model(name: str, params: dict):
    """A zoo model (``nsoc.zoo``); a SpecError naming the fix when the entry is unknown."""
    try:
        from .. import zoo
    except ImportError:
        raise SpecError(f"zoo model '{name}' requested but nsoc.zoo is not available in this "
                        f"version; use file = \"MODEL.fbz\"") from None
    try:
        return zoo.build(name, **params)
    except TypeError as exc:
        raise SpecError(f"zoo model '{name}': bad parameters {params} ({exc})") from None


def zoo_bytes(name: str, params: dict) -> bytes:
    """The ``.fbz`` bytes of a zoo model (what a worker runs when the driver farms builds out)."""
    from .threads import limit_threads
    limit_threads()
    return build_zoo_model(name, params).to_buffer()


def _zoo_source_hash() -> str:
    """Hash of the zoo's source files: a builder edited without a version bump invalidates the
    built models it made."""
    import glob

    from .. import zoo
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(os.path.dirname(zoo.__file__), "*.py"))):
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def recipe_hash(ref: ModelRef) -> str:
    """Hash of a zoo recipe (entry, parameters, nsoc version, zoo sources): the name of its built
    model in the results folder's model cache."""
    from ..version import __version__
    return sha256(canonical({"zoo": ref.zoo, "params": dict(ref.params), "nsoc": __version__,
                             "zoo_sources": _zoo_source_hash()}).encode())[:32]


def describe(ref: ModelRef, data: bytes) -> LoadedModel:
    """A LoadedModel from a model's bytes."""
    from ..model import Model
    model = Model.from_buffer(data)
    return LoadedModel(ref, data, sha256(data), model.ip_version, tuple(model.input_shape),
                       int(model.macs), len(model.layers))


def check_zoo_ref(ref: ModelRef) -> None:
    """Raise the zoo's InputError for an unknown entry or parameter (before any build)."""
    try:
        from .. import zoo
    except ImportError:
        raise SpecError(f"zoo model '{ref.zoo}' requested but nsoc.zoo is not available in "
                        f"this version; use file = \"MODEL.fbz\"") from None
    assert ref.zoo is not None, "a model reference is a file or a zoo entry (spec.py)"
    params = dict(ref.params)
    target = params.pop("target", "v2")
    zoo.get(ref.zoo).resolve(target, params)


def load_models(refs, cache_dir: str | None = None, build_many=None) -> dict:
    """{ref: LoadedModel} of every model: files read, zoo models read from ``cache_dir``
    (``<recipe hash>.fbz``) or built, by ``build_many(list of (name, params)) -> list of bytes``
    (an executor's map over the cluster) or here, then stored in ``cache_dir``."""
    out = {}
    builds = []
    for ref in dict.fromkeys(refs):
        if ref.file is not None:
            with open(ref.file, "rb") as f:
                out[ref] = describe(ref, f.read())
            continue
        check_zoo_ref(ref)
        cached = os.path.join(cache_dir, recipe_hash(ref) + ".fbz") if cache_dir else None
        if cached and os.path.isfile(cached):
            with open(cached, "rb") as f:
                out[ref] = describe(ref, f.read())
        else:
            builds.append(ref)
    if builds:
        jobs = [(ref.zoo, dict(ref.params)) for ref in builds]
        blobs = build_many(jobs) if build_many else [zoo_bytes(*job) for job in jobs]
        for ref, data in zip(builds, blobs, strict=True):
            out[ref] = describe(ref, data)
            if cache_dir:
                os.makedirs(cache_dir, exist_ok=True)
                path = os.path.join(cache_dir, recipe_hash(ref) + ".fbz")
                tmp = f"{path}.tmp-{os.getpid()}"
                with open(tmp, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
    return out


def input_rule(model) -> tuple[np.dtype, int, int]:
    """(dtype, low, high) of valid integer input values for ``model``'s first layer."""
    first = model.layers[0]
    p = first.params
    if first.TYPE == "Quantizer":
        signed, bits = bool(p["output_signed"]), int(p["output_bits"])
    elif first.TYPE == "InputData":
        signed, bits = bool(p["input_signed"]), int(p["input_bits"])
    else:
        signed, bits = False, 8
    if signed:
        return np.dtype(np.int8), -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return np.dtype(np.uint8), 0, (1 << bits) - 1


def random_frames(model, n: int, seed: int) -> np.ndarray:
    """``n`` random frames of ``model``'s input shape and dtype (deterministic in ``seed``)."""
    dtype, lo, hi = input_rule(model)
    rng = np.random.default_rng(seed)
    return rng.integers(lo, hi + 1, size=(n,) + tuple(model.input_shape)).astype(dtype)


def file_frames(path: str, n: int) -> np.ndarray:
    """The first ``n`` frames of a ``.npy`` file (repeated cyclically when it holds fewer)."""
    try:
        x = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"cannot read {path} as a .npy array ({exc})") from None
    if x.ndim != 4 or len(x) == 0:
        raise InputError(f"{path}: inputs are a non-empty NHWC array (N, X, Y, C), got shape "
                         f"{x.shape}")
    return np.ascontiguousarray(x[np.arange(n) % len(x)])


def input_shape_of(path: str) -> tuple:
    x = np.load(path, mmap_mode="r", allow_pickle=False)
    return tuple(x.shape[1:])


def device_ip(ref: DeviceRef, model_ip: str) -> str:
    if ref.custom is not None:
        return ref.custom[3] or model_ip
    from ..hardware.device import get_device
    return get_device(ref.name).ip_version


def make_device(ref: DeviceRef, model_ip: str):
    """The Device of ``ref`` (a custom mesh takes the model's IP version unless it names one)."""
    from ..hardware.device import create_device, get_device
    if ref.custom is None:
        return get_device(ref.name)
    cnp, fnp, skip, ip = ref.custom
    return create_device(cnp, fnp, skip, ip_version=ip or model_ip)


def device_fingerprint(ref: DeviceRef, model_ip: str) -> str:
    """Hash of everything about a device that changes results: its description and the timing
    and energy constants it resolves to (so edited parameter files invalidate the cache)."""
    from ..hardware.device import device_to_dict
    dev = make_device(ref, model_ip)
    doc: dict = {"device": device_to_dict(dev)}
    try:
        from ..hardware.timing import timing_params
        doc["timing"] = timing_params(dev)
    except (ImportError, NsocError):
        pass
    try:
        from ..hardware.energy import resolve_params
        doc["energy"] = resolve_params(dev)
    except (ImportError, NsocError):
        pass
    return sha256(canonical(doc).encode())


def input_key(ref: InputRef, frames: int) -> tuple[str, np.ndarray | None]:
    """(hash of the frames, the frames) of a file input; (hash of the recipe, None) for random
    frames (made on the worker)."""
    sparsity = ref.to_dict()["sparsity"]
    if ref.file is None:
        return sha256(canonical({"random": ref.seed, "frames": frames,
                                 "sparsity": sparsity}).encode()), None
    x = file_frames(ref.file, frames)
    h = hashlib.sha256(canonical({"shape": x.shape, "dtype": x.dtype.str,
                                  "sparsity": sparsity}).encode())
    h.update(x.tobytes())
    return h.hexdigest(), x


def config_key(model_hash: str, config: Config, input_hash: str, device_hash: str) -> str:
    """The content hash that identifies a configuration's result."""
    from ..version import __version__
    return sha256(canonical({"model": model_hash, "config": config.to_dict(),
                             "input": input_hash, "device": device_hash,
                             "nsoc": __version__}).encode())[:32]


def check_input_file(ref: InputRef, model: LoadedModel) -> bool:
    """True when ``ref``'s frames fit ``model`` (random inputs fit every model)."""
    if ref.file is None:
        return True
    return input_shape_of(ref.file) == tuple(model.input_shape)


def spec_base(path: str) -> str:
    return os.path.dirname(os.path.abspath(path))


__all__ = ["LoadedModel", "load_models", "zoo_bytes", "random_frames", "file_frames", "make_device",
           "device_fingerprint", "input_key", "config_key", "sha256", "canonical"]

"""Two-way interoperability with BrainChip's Akida models through the ``akida`` package's public
Python API (optional extra ``nsoc[akida]``; akida needs only numpy, no TensorFlow).

* :func:`from_akida`: an ``akida.Model`` (or a BrainChip ``.fbz`` loaded with
  ``akida.Model(path)``) read through ``layers``, ``parameters``, ``variables`` and ``inbounds``
  becomes an :class:`nsoc.Model`.  nsoc's layer, parameter and variable names are Akida's, so
  the copy is one to one.
* :func:`to_akida`: an nsoc model rebuilt layer by layer with akida's public constructors,
  ``Model.add`` and ``set_variable``; every parameter akida reports back is checked against
  nsoc's, so a model akida would read differently is refused instead of silently changed.

BrainChip's file format is never read here: akida itself loads and saves its files.
"""
from __future__ import annotations

import importlib
import os

import numpy as np

from ..errors import ModelFormatError, ModelValidationError, NsocError
from ..layers import LAYER_TYPES

INSTALL_HINT = "install BrainChip's akida package: pip install 'nsoc[akida]'"


class AkidaUnavailableError(NsocError):
    """The optional ``akida`` package is not installed."""


def require_akida():
    """The ``akida`` module, or AkidaUnavailableError naming the install command."""
    try:
        return importlib.import_module("akida")
    except ImportError as exc:
        raise AkidaUnavailableError(f"this needs BrainChip's akida package ({exc}); "
                                    f"{INSTALL_HINT}") from None


def akida_available() -> bool:
    try:
        importlib.import_module("akida")
    except ImportError:
        return False
    return True


# ----- akida -> nsoc --------------------------------------------------------------------------
def _int(value) -> int:
    """An akida parameter value (int, bool or enum) as an int."""
    return int(getattr(value, "value", value))


def akida_params(layer) -> dict:
    """{name: int} of an akida layer's parameters (the ``layer_type`` left out).

    akida's Concatenate holds no parameter: its output has its inputs' bit width, which nsoc
    records as ``output_bits``."""
    params = layer.parameters
    out = {name: _int(getattr(params, name)) for name in dir(params)
           if not name.startswith("_") and name != "layer_type"}
    if akida_layer_type(layer) == "Concatenate" and "output_bits" not in out:
        out["output_bits"] = int(layer.input_bits)
    return out


def akida_layer_type(layer) -> str:
    kind = layer.parameters.layer_type
    return getattr(kind, "name", str(kind).rsplit(".", 1)[-1])


def _load_akida_model(akida, path):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(2, "No such file or directory", path)
    try:
        return akida.Model(path)
    except Exception as exc:  # noqa: BLE001  (akida raises RuntimeError/ValueError/...)
        raise ModelFormatError(f"{path}: akida cannot load it as an Akida model: {exc}") from None


def from_akida(model_or_path):
    """An :class:`nsoc.Model` computing the same outputs as an ``akida.Model`` (or the BrainChip
    ``.fbz`` at a path), read through akida's public layer API."""
    from ..model import Model
    akida = require_akida()
    ak = model_or_path
    if isinstance(model_or_path, (str, os.PathLike)):
        ak = _load_akida_model(akida, model_or_path)
    version = getattr(ak.ip_version, "name", str(ak.ip_version)).rsplit(".", 1)[-1]
    if version not in ("v1", "v2"):
        raise ModelValidationError(
            f"the Akida model is for IP version {version}; nsoc simulates Akida 1.0 (v1) and "
            f"2.0 (v2) models")
    layers = []
    for ak_layer in ak.layers:
        kind = akida_layer_type(ak_layer)
        if kind not in LAYER_TYPES:
            raise ModelValidationError(
                f"layer '{ak_layer.name}' is an Akida {kind}, which nsoc does not simulate; "
                f"nsoc supports {', '.join(sorted(LAYER_TYPES))}")
        variables = {name: np.array(ak_layer.variables[name])
                     for name in ak_layer.variables.names}
        inbounds = [lay.name for lay in ak_layer.inbounds]
        layers.append(LAYER_TYPES[kind](ak_layer.name, akida_params(ak_layer), variables,
                                        inbounds))
    return Model(layers, version, {"source": "akida", "akida_version": akida.__version__})


# ----- nsoc -> akida --------------------------------------------------------------------------
def _enums(akida):
    return akida.Padding, akida.PoolType, akida.ActivationType


def _v2_common(akida, p) -> dict:
    padding, pool, act = _enums(akida)
    out = {"output_bits": p["output_bits"], "buffer_bits": p["buffer_bits"],
           "post_op_buffer_bits": p["post_op_buffer_bits"], "activation": act(p["activation"]),
           "weights_bits": p["weights_bits"]}
    if "kernel_size" in p:
        out.update(kernel_size=p["kernel_size"], kernel_stride=p["kernel_stride"],
                   padding=padding(p["padding"]), pool_type=pool(p["pool_type"]),
                   pool_size=p["pool_size"], pool_stride=p["pool_stride"])
    return out


def _v1_conv(akida, p) -> dict:
    padding, pool, _ = _enums(akida)
    return {"kernel_size": (p["kernel_width"], p["kernel_height"]), "filters": p["filters"],
            "padding": padding(p["padding"]), "kernel_stride": (p["stride_x"], p["stride_y"]),
            "weights_bits": p["weights_bits"], "pool_type": pool(p["pool_type"]),
            "pool_size": (p["pooling_width"], p["pooling_height"]),
            "pool_stride": (p["pooling_stride_x"], p["pooling_stride_y"]),
            "activation": bool(p["activation"]), "act_bits": p["act_bits"]}


def _constructor_args(akida, layer) -> tuple[tuple, dict]:
    """(positional, keyword) arguments of the akida constructor of an nsoc layer."""
    p, kind = layer.params, layer.TYPE
    dims = tuple(int(d) for d in layer.input_dims)
    if kind == "Quantizer":
        return (dims, p["output_bits"], bool(p["output_signed"])), \
            {"channels_first": bool(p["channels_first"])}
    if kind == "InputData":
        return (dims,), {"input_bits": p["input_bits"]}
    if kind == "InputConv2D":
        return (dims, p["filters"]), _v2_common(akida, p)
    if kind == "Conv2D":
        return (p["filters"],), _v2_common(akida, p)
    if kind in ("DepthwiseConv2D", "Add", "Concatenate", "Dequantizer"):
        args = {"DepthwiseConv2D": lambda: _v2_common(akida, p),
                "Add": lambda: {k: p[k] for k in ("output_bits", "buffer_bits",
                                                  "post_op_buffer_bits")},
                "Concatenate": dict, "Dequantizer": dict}[kind]()
        return (), args
    if kind == "Dense1D":
        return (p["units"],), _v2_common(akida, p)
    if kind == "InputConvolutional":
        return (dims,), dict(_v1_conv(akida, p), padding_value=p["padding_value"])
    if kind in ("Convolutional", "SeparableConvolutional"):
        return (), _v1_conv(akida, p)
    if kind == "FullyConnected":
        return (p["units"],), {"weights_bits": p["weights_bits"],
                               "activation": bool(p["activation"]), "act_bits": p["act_bits"]}
    raise ModelValidationError(f"layer '{layer.name}': no akida constructor for {kind}")


def _check_same_params(layer, ak_layer) -> None:
    """Every parameter akida reports equals nsoc's (parameters akida lacks must be defaults)."""
    theirs = akida_params(ak_layer)
    defaults = {p.name: p.default for p in layer.PARAMS}
    for name, value in layer.params.items():
        expected = theirs.get(name, defaults[name])
        if value != expected:
            raise ModelValidationError(
                f"layer '{layer.name}' ({layer.TYPE}): akida cannot express {name}={value} "
                f"(it holds {expected}); this layer cannot be exported to Akida")
    extra = {k: v for k, v in theirs.items() if k not in layer.params}
    if extra and layer.TYPE not in ("InputData",):
        raise ModelValidationError(
            f"layer '{layer.name}' ({layer.TYPE}): akida adds parameters {extra} nsoc does not "
            f"hold; this layer cannot be exported to Akida")


def to_akida(model):
    """The equivalent ``akida.Model``, built with akida's public constructors, ``Model.add`` and
    ``set_variable`` (save it with its ``save``)."""
    akida = require_akida()
    ak = akida.Model()
    built = {}
    for layer in model.layers:
        if layer.TYPE == "InputData" and not layer.params["input_signed"]:
            raise ModelValidationError(
                f"layer '{layer.name}': akida's InputData is signed; this unsigned input cannot "
                f"be exported to Akida")
        args, kwargs = _constructor_args(akida, layer)
        try:
            ak_layer = getattr(akida, layer.TYPE)(*args, name=layer.name, **kwargs)
            ak.add(ak_layer, [built[name] for name in layer.inbounds])
        except (RuntimeError, ValueError, TypeError) as exc:
            raise ModelValidationError(
                f"akida refuses layer '{layer.name}' ({layer.TYPE}): {exc}") from None
        ak_layer = ak.get_layer(layer.name)
        _check_same_params(layer, ak_layer)
        for name, value in layer.variables.items():
            target = ak_layer.variables[name] if name in ak_layer.variables.names else None
            if target is None:
                raise ModelValidationError(
                    f"layer '{layer.name}' ({layer.TYPE}): akida has no variable '{name}'")
            value = np.asarray(value)
            if layer.TYPE == "Quantizer" and value.size == 1 and target.size > 1:
                value = np.full(target.shape, value.reshape(()))  # per-tensor: one per channel
            try:
                ak_layer.set_variable(name, np.ascontiguousarray(value, dtype=target.dtype))
            except (RuntimeError, ValueError, TypeError) as exc:
                raise ModelValidationError(
                    f"akida refuses variable '{name}' of layer '{layer.name}': {exc}") from None
        built[layer.name] = ak_layer
    return ak


def save_akida(model, path) -> None:
    """Export ``model`` with :func:`to_akida` and write it with akida's own ``save``, atomically
    (a temporary file beside ``path``, then ``os.replace``)."""
    ak = to_akida(model)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp.fbz")
    try:
        ak.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

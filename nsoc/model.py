"""nsoc.Model: an Akida network (graph of typed layers), its version and metadata; loading and
saving it as an ``.fbz`` file (:mod:`nsoc.fbz` reads and writes the documents).

The model is data: the graph, the variables, the Akida version and free metadata.  Its methods
beyond the graph (``forward``, ``predict``, ``save``, ``map``, ``simulate``, ``summary``) are
one-line conveniences delegating to the module that does the work; nothing is cached on it and
nothing computed elsewhere is written back onto it.
"""
from __future__ import annotations

import os

import numpy as np

from . import fbz
from .errors import ModelFormatError, ModelValidationError
from .layers import LAYER_TYPES, Layer, make_layer

IP_VERSIONS = ("v1", "v2")


class Model:
    """An Akida model: layers in topological order, the Akida IP version and free metadata.

    ``layers`` may be given in any order that lists every inbound before its consumer; the
    constructor validates the graph (unique names, known inbounds, one input layer, types
    allowed for the version, shapes chaining) and every layer's variables.
    """

    def __init__(self, layers: list[Layer], ip_version: str = "v2", metadata: dict | None = None):
        if ip_version not in IP_VERSIONS:
            raise ModelValidationError(
                f"unknown Akida IP version {ip_version!r}; use one of {IP_VERSIONS}")
        self.ip_version = ip_version
        self.metadata = {str(k): str(v) for k, v in (metadata or {}).items()}
        self.layers: list[Layer] = []
        self._by_name: dict[str, Layer] = {}
        for layer in layers:
            self._add(layer)
        if not self.layers:
            raise ModelValidationError("a model needs at least one layer")
        self._check_single_output()

    # ----- graph construction -----------------------------------------------------------
    def _add(self, layer: Layer) -> None:
        if not isinstance(layer, Layer):
            raise ModelValidationError(f"not a layer: {layer!r}")
        if layer.name in self._by_name:
            raise ModelValidationError(f"duplicate layer name '{layer.name}'")
        if self.ip_version not in layer.VERSIONS:
            raise ModelValidationError(
                f"layer '{layer.name}' of type {layer.TYPE} does not exist in Akida "
                f"{self.ip_version}; it belongs to {sorted(layer.VERSIONS)}")
        missing = [i for i in layer.inbounds if i not in self._by_name]
        if missing:
            raise ModelValidationError(
                f"layer '{layer.name}' names unknown or later inbound(s) {missing}; list layers "
                f"in topological order")
        if not self.layers and layer.inbounds:
            raise ModelValidationError(f"first layer '{layer.name}' cannot have inbounds")
        if self.layers and not layer.inbounds:
            raise ModelValidationError(
                f"layer '{layer.name}' has no inbound; only the first layer is an input")
        layer.build([self._by_name[i] for i in layer.inbounds])
        self.layers.append(layer)
        self._by_name[layer.name] = layer

    def _check_single_output(self) -> None:
        consumed = {i for lay in self.layers for i in lay.inbounds}
        outputs = [lay.name for lay in self.layers if lay.name not in consumed]
        if len(outputs) != 1:
            raise ModelValidationError(
                f"a model has exactly one output layer; these layers feed nothing: {outputs}")

    # ----- description ------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple:
        """Shape of one input sample (x, y, c), i.e. ``batch.shape[1:]``."""
        return tuple(self.layers[0].input_dims)

    @property
    def output_shape(self) -> tuple:
        return tuple(self.layers[-1].output_dims)

    @property
    def layer_count(self) -> int:
        return len(self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def get_layer(self, name: str) -> Layer:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no layer named '{name}'; layers are "
                           f"{[lay.name for lay in self.layers]}") from None

    def consumers(self, name: str) -> list[Layer]:
        """Layers that take ``name``'s output as an inbound."""
        return [lay for lay in self.layers if name in lay.inbounds]

    def __repr__(self):
        return (f"<nsoc.Model {self.ip_version} {len(self.layers)} layers "
                f"{self.input_shape}->{self.output_shape}>")

    # ----- documents (what the .fbz file stores) ----------------------------------------
    def to_doc(self) -> dict:
        """Neutral description with variable data: what the ``.fbz`` codec stores."""
        return {"ip_version": self.ip_version, "metadata": dict(self.metadata),
                "layers": [{"name": lay.name, "type": lay.TYPE, "params": dict(lay.params),
                            "inbounds": list(lay.inbounds),
                            "variables": {k: np.ascontiguousarray(v)
                                          for k, v in lay.variables.items()}}
                           for lay in self.layers]}

    @classmethod
    def from_doc(cls, doc: dict) -> Model:
        """Inverse of :meth:`to_doc`."""
        layers = [make_layer(d["type"], d["name"], d.get("params"), d.get("variables"),
                             d.get("inbounds", ())) for d in doc["layers"]]
        return cls(layers, doc.get("ip_version", "v2"), doc.get("metadata"))

    # ----- conveniences: each delegates to the module doing the work --------------------
    def forward(self, inputs: np.ndarray, batch_size: int = 0, outputs=None):
        """:func:`nsoc.engine.forward`: integer outputs of the last layer (before the
        Dequantizer on v2), NHWC; ``outputs="all"``: {layer name: array} of every layer."""
        from .engine import forward
        return forward(self, inputs, batch_size=batch_size, outputs=outputs)

    def predict(self, inputs: np.ndarray, batch_size: int = 0) -> np.ndarray:
        """:func:`nsoc.engine.predict`: float32 outputs (v2 dequantized potentials; v1
        ``(potential - threshold) / act_step``)."""
        from .engine import predict
        return predict(self, inputs, batch_size=batch_size)

    def summary(self) -> str:
        """A printable table of the layers (:func:`nsoc.report.info.format_summary`)."""
        from .report.info import format_summary
        return format_summary(self)

    def save(self, path) -> None:
        """Write the model to ``path`` in nsoc's ``.fbz`` format (atomically)."""
        save_model(self, path)

    def to_akida(self):
        """The equivalent ``akida.Model`` (needs ``pip install 'nsoc[akida]'``); save it with its
        ``save`` for the Akida runtime.  See :func:`nsoc.interop.to_akida`."""
        from .interop import to_akida
        return to_akida(self)

    def to_buffer(self) -> bytes:
        return model_to_bytes(self)

    @classmethod
    def from_buffer(cls, data: bytes) -> Model:
        return model_from_bytes(data)

    def map(self, device, hw_only: bool = False, mode: str = "AllNps"):
        """:func:`nsoc.hardware.mapping.map_model`: where the model runs on ``device`` (a
        Device, a built-in name or ``custom:...``); the model is not changed."""
        from .hardware.mapping import map_model
        return map_model(self, device, hw_only=hw_only, mode=mode)

    def simulate(self, inputs: np.ndarray, device, mode: str = "AllNps", **kwargs):
        """:func:`nsoc.pipeline.build_report` after mapping on ``device``: the
        :class:`nsoc.report.Report` ``nsoc run --report`` writes (``report.write(dir)``).

        Keyword arguments: ``hw_only``, ``clock_mode``, ``timing_overrides``,
        ``energy_overrides``, ``batch_size`` (frames streamed), ``progress``, ``sparsity``,
        ``sparsity_seed`` (see :class:`nsoc.pipeline.SimOptions`)."""
        from .pipeline import build_report
        return build_report(self, inputs, None, device=device, mode=mode, **kwargs)


# ----- files ----------------------------------------------------------------------------
def model_from_doc(doc: dict) -> Model:
    """The Model of a decoded ``.fbz`` document; its validation errors become
    :class:`ModelFormatError` (the file holds an invalid model)."""
    try:
        return Model.from_doc(doc)
    except Exception as exc:  # the IR's validation, or a type it trips on
        raise ModelFormatError(f"the file holds an invalid nsoc model: {exc}") from exc


def model_to_bytes(model: Model, compress: bool = True) -> bytes:
    """The ``.fbz`` bytes of a model (zlib-compressed unless ``compress=False``)."""
    return fbz.doc_to_bytes(model.to_doc(), compress=compress)


def model_from_bytes(data: bytes, max_uncompressed: int = fbz.MAX_UNCOMPRESSED) -> Model:
    """The Model in ``.fbz`` bytes; raises ModelFormatError on any defect."""
    return model_from_doc(fbz.read_doc(data, max_uncompressed))


def save_model(model: Model, path) -> None:
    """Write ``model`` to ``path`` atomically; on failure ``path`` is left untouched."""
    fbz.save_doc(model.to_doc(), path)


def load(path, max_file_size: int = fbz.MAX_FILE_SIZE,
         max_uncompressed: int = fbz.MAX_UNCOMPRESSED) -> Model:
    """Load an nsoc ``.fbz`` model.

    A missing file raises FileNotFoundError; a file above ``max_file_size`` bytes and every
    defect of its content (format or model) raise :class:`nsoc.ModelFormatError`.
    """
    doc = fbz.load_doc(path, max_file_size, max_uncompressed)
    try:
        return model_from_doc(doc)
    except ModelFormatError as exc:
        raise ModelFormatError(f"{os.fspath(path)}: {exc}") from exc


load_model = load   # the name nsoc.fbz used to export


__all__ = ["Model", "load", "load_model", "save_model", "model_to_bytes", "model_from_bytes",
           "model_from_doc", "LAYER_TYPES"]

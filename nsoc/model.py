"""nsoc.Model: an Akida network (graph of typed layers), its version and metadata."""
from __future__ import annotations

import numpy as np

from .errors import ModelValidationError
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

    def summary(self) -> str:
        """A printable table of the layers (type, dims, bits, MACs)."""
        from .info import format_summary
        return format_summary(self)

    def __repr__(self):
        return (f"<nsoc.Model {self.ip_version} {len(self.layers)} layers "
                f"{self.input_shape}->{self.output_shape}>")

    # ----- inference --------------------------------------------------------------------
    def forward(self, inputs: np.ndarray, batch_size: int = 0, outputs=None):
        """Integer outputs of the last layer (before the Dequantizer on v2), NHWC.

        ``outputs="all"`` returns a dict {layer name: array} of every layer's output instead.
        """
        from .engine import forward
        return forward(self, inputs, batch_size=batch_size, outputs=outputs)

    def predict(self, inputs: np.ndarray, batch_size: int = 0) -> np.ndarray:
        """float32 outputs: v2 dequantized potentials; v1 (potential - threshold) / act_step."""
        from .engine import predict
        return predict(self, inputs, batch_size=batch_size)

    # ----- persistence ------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the model to ``path`` in nsoc's ``.fbz`` format (atomically)."""
        from .fbz import save_model
        save_model(self, path)

    def to_buffer(self) -> bytes:
        from .fbz import model_to_bytes
        return model_to_bytes(self)

    @classmethod
    def from_buffer(cls, data: bytes) -> Model:
        from .fbz import model_from_bytes
        return model_from_bytes(data)

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

    # ----- hardware ---------------------------------------------------------------------
    def map(self, device, hw_only: bool = False, mode: str = "AllNps"):
        """Where the model runs on ``device`` (a Device, a built-in name or ``custom:...``):
        the :class:`~nsoc.hardware.types.Mapping` value; the model is not changed."""
        from .hardware.mapping import map_model
        return map_model(self, device, hw_only=hw_only, mode=mode)

    def simulate(self, inputs: np.ndarray, device, mode: str = "AllNps", **kwargs):
        """Map on ``device`` (mode ``mode``), run the cycle-level simulation of the frames
        ``inputs`` and the energy model; returns the :class:`nsoc.report.Report` that
        ``nsoc run --report`` writes (save it with ``report.write(dir)``).

        Keyword arguments go to :func:`nsoc.report.build_report` (``clock_mode``,
        ``timing_overrides``, ``energy_overrides``, ``batch_size``, ``progress``)."""
        from .report import build_report
        return build_report(self, inputs, self.map(device, mode=mode), **kwargs)


def load(path) -> Model:
    """Load an nsoc ``.fbz`` model; raises :class:`nsoc.ModelFormatError` on any defect."""
    from .fbz import load_model
    return load_model(path)


__all__ = ["Model", "load", "LAYER_TYPES"]

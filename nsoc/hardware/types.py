"""Data types of the hardware model: devices, meshes, NPs and a model's mapping onto them.

Names follow Akida's (``NP.Ident(col, row, id)``, ``NP.Component``, ``Sequence``, ``Pass``) so
that a mapping printed by nsoc reads like one printed by the akida package.  Device files
(``nsoc/hardware/devices/*.json``) are loaded into :class:`Device`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

NP_TYPES = ("HRC", "CNP1", "CNP2", "FNP2", "FNP3", "TNP_B", "SKIP_DMA_STORE", "SKIP_DMA_LOAD")


@dataclass(frozen=True, order=True)
class Ident:
    """Position of an NP: mesh column, mesh row (together: the node) and NP id within the node."""

    col: int
    row: int
    id: int
    channel: int = 0

    @property
    def node(self) -> tuple[int, int]:
        return (self.col, self.row)

    def to_dict(self) -> dict:
        return {"col": self.col, "row": self.row, "id": self.id, "channel": self.channel}


@dataclass(frozen=True)
class NPInfo:
    """One neural processor of a mesh and the NP types it can act as."""

    ident: Ident
    types: frozenset
    has_lut: bool = False


@dataclass(frozen=True)
class SramSize:
    """Per-NP SRAM in bytes."""

    input_bytes: int
    weight_bytes: int


@dataclass
class Mesh:
    """The 2-D mesh of nodes: NPs, the HRC, DMA endpoints and skip-DMA channels."""

    nps: list[NPInfo]
    dma_event: Ident
    dma_conf: Ident
    hrc: NPInfo | None = None
    skip_dmas: list[NPInfo] = field(default_factory=list)
    np_sram_size: SramSize = SramSize(65536, 51200)

    @property
    def nodes(self) -> list[tuple[int, int]]:
        return sorted({n.ident.node for n in self.nps})


@dataclass
class Device:
    """An Akida device or IP configuration plus the timing and energy constants of its model.

    ``params`` holds the simulator constants (clock per ClockMode, cycles per event per NP type,
    router latency, link width, DMA rates, energy per action, leakage, board floor), each entry a
    dict ``{"value": ..., "unit": ..., "source": ...}`` as read from the device file.
    """

    name: str
    ip_version: str  # "v1" or "v2"
    hw_version: str  # e.g. "BC.00.000.002"
    mesh: Mesh
    params: dict = field(default_factory=dict)
    description: str = ""

    def param(self, key: str):
        """Value of one simulator constant."""
        return self.params[key]["value"]


@dataclass
class NPComponent:
    """An NP (or part of one) allocated to a layer: Akida's ``NP.Component``."""

    ident: Ident
    type: str
    filters: int
    start_neuron: int = 0
    single_buffer: bool = False
    mem_info: dict = field(default_factory=dict)  # input_size, weight_size, external_size (B)
    #: False for a skip-DMA store whose buffer Akida lists but leaves out of the mapping's
    #: ``external_memory_size`` (:func:`.mapping.memory.assign_skip_memory`)
    in_external_total: bool = True

    def to_dict(self) -> dict:
        return {"ident": self.ident.to_dict(), "type": self.type, "filters": self.filters,
                "start_neuron": self.start_neuron, "single_buffer": self.single_buffer,
                "mem_info": dict(self.mem_info)}


@dataclass
class LayerMapping:
    """Where one layer runs: its NP components and skip-DMA channels (Akida's ``layer.mapping``)."""

    layer: str
    type: str
    nps: list[NPComponent] = field(default_factory=list)
    skipdma_stores: list[NPComponent] = field(default_factory=list)
    skipdma_loads: list[NPComponent] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"layer": self.layer, "type": self.type, "nps": [n.to_dict() for n in self.nps],
                "skipdma_stores": [n.to_dict() for n in self.skipdma_stores],
                "skipdma_loads": [n.to_dict() for n in self.skipdma_loads]}


@dataclass
class Sequence:
    """Layers run together with one program: several passes when the device is reconfigured
    between them (HwPr or a model larger than the device); ``backend`` Hardware or Software."""

    name: str
    backend: str
    passes: list[list[LayerMapping]]
    program_size: int = 0

    @property
    def layers(self) -> list[str]:
        return [lm.layer for p in self.passes for lm in p]

    def to_dict(self) -> dict:
        return {"name": self.name, "backend": self.backend, "program_size": self.program_size,
                "passes": [[lm.to_dict() for lm in p] for p in self.passes]}


@dataclass(frozen=True, eq=False)
class Mapping:
    """Where a model runs on a device: the value :func:`nsoc.hardware.mapping.map_model`
    returns (the model itself is never changed by mapping).

    ``sequences`` in execution order; a layer with no NP (Quantizer, InputData, Dequantizer)
    appears in its sequence with an empty NP list; software layers have no ``LayerMapping``
    of their own beyond their name and type.  Compared and hashed by identity (a cache key).
    """

    device: Device
    mode: str
    hw_only: bool
    sequences: tuple[Sequence, ...]

    def layer(self, name: str) -> LayerMapping | None:
        """The mapping of layer ``name`` on hardware, or None when it runs in software."""
        for seq in self.sequences:
            if seq.backend != "Hardware":
                continue
            for p in seq.passes:
                for lm in p:
                    if lm.layer == name:
                        return lm
        return None

    def hardware_passes(self) -> list[tuple[int, int, list[LayerMapping]]]:
        """(sequence index, pass index, layer mappings) of every hardware pass, in order."""
        return [(si, pi, p) for si, seq in enumerate(self.sequences)
                if seq.backend == "Hardware" for pi, p in enumerate(seq.passes)]

    def components(self):
        """Every NP component over the hardware passes (an NP reused by two passes twice)."""
        return [c for _, _, p in self.hardware_passes() for lm in p for c in lm.nps]

    @property
    def n_passes(self) -> int:
        return len(self.hardware_passes())

    @property
    def n_software_sequences(self) -> int:
        return sum(s.backend == "Software" for s in self.sequences)

    @property
    def component_count(self) -> dict:
        """{NP type: number of NP components} over the hardware sequences (an NP reused by two
        passes counts twice, as akida counts)."""
        counts: dict[str, int] = {}
        for c in self.components():
            counts[c.type] = counts.get(c.type, 0) + 1
        return {t: counts[t] for t in NP_TYPES if t in counts}

    @property
    def external_memory_size(self) -> int:
        """Bytes held in external memory: FNP2 weights and skip-DMA buffers (those counted in
        Akida's total: ``NPComponent.in_external_total``)."""
        stores = [c for _, _, p in self.hardware_passes() for lm in p for c in lm.skipdma_stores
                  if c.in_external_total]
        return sum(c.mem_info.get("external_size", 0) for c in self.components() + stores)

    def memory_totals(self) -> dict:
        """Total input and weight memory (bytes) over every NP component, and the external
        memory (:attr:`external_memory_size`, skip-DMA buffers included)."""
        tot = {"input_size": 0, "weight_size": 0}
        for c in self.components():
            for k in tot:
                tot[k] += c.mem_info.get(k, 0)
        tot["external_size"] = self.external_memory_size
        return tot

    def to_dict(self) -> dict:
        """The mapping in the structure of the refcases' mapping.json entries."""
        return {"device": self.device.name, "mode": self.mode, "hw_only": self.hw_only,
                "sequences": [s.to_dict() for s in self.sequences],
                "component_count": self.component_count,
                "external_memory_size": self.external_memory_size,
                "n_software_sequences": self.n_software_sequences}

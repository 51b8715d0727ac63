"""The 2-D mesh network on chip: nodes, directed links and dimension-order (XY) routes.

A node is a mesh position ``(col, row)``; each node has a router linked to its four
neighbours.  Akida's routing algorithm is not public: nsoc routes X first (columns), then Y
(rows), over the bounding box of the device's nodes (routers exist at every grid position, also
where a node holds no NP).  Besides mesh links the network holds *channels*: pseudo-links with
their own width that model DMA engines (event DMA in/out, skip-DMA), so that their
serialisation and contention are simulated like a link's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Network:
    """Directed links of a mesh plus DMA channels.

    ``link_nodes[i]`` is ``((col, row), (col, row))`` for mesh links and ``(name, name)`` for
    channels; ``link_bits[i]`` is the width of link i in bits per cycle.
    """

    link_width_bits: int
    router_latency: int
    link_nodes: list = field(default_factory=list)
    link_bits: list = field(default_factory=list)
    _index: dict = field(default_factory=dict)

    def link(self, a, b, bits: float | None = None) -> int:
        """Id of the directed link a -> b, created on first use."""
        key = (a, b)
        if key not in self._index:
            self._index[key] = len(self.link_nodes)
            self.link_nodes.append(key)
            self.link_bits.append(float(bits if bits is not None else self.link_width_bits))
        return self._index[key]

    def channel(self, name: str, bytes_per_cycle: float) -> int:
        """Id of a DMA channel modelled as a link of ``8 * bytes_per_cycle`` bits/cycle."""
        return self.link(name, name, 8.0 * bytes_per_cycle)

    def route(self, src: tuple[int, int], dst: tuple[int, int]) -> list[int]:
        """Link ids of the XY route from node ``src`` to node ``dst`` (empty when equal)."""
        links = []
        c, r = src
        while c != dst[0]:
            nc = c + (1 if dst[0] > c else -1)
            links.append(self.link((c, r), (nc, r)))
            c = nc
        while r != dst[1]:
            nr = r + (1 if dst[1] > r else -1)
            links.append(self.link((c, r), (c, nr)))
            r = nr
        return links

    def is_mesh_link(self, i: int) -> bool:
        return isinstance(self.link_nodes[i][0], tuple)

    def bits_array(self) -> np.ndarray:
        return np.asarray(self.link_bits, dtype=np.float64)


def hops(src: tuple[int, int], dst: tuple[int, int]) -> int:
    """Mesh hops of the XY route between two nodes (Manhattan distance)."""
    return abs(src[0] - dst[0]) + abs(src[1] - dst[1])

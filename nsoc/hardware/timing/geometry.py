"""Row geometry of a layer for the timing model: which input rows each output row waits for,
and how many kernel taps an input event reaches along each axis.

Akida streams a layer's input row by row (axis 1 of the NHWC batch).  For a convolution an
output row can fire once the input rows of its window (and of its pooling window) have been
processed; a dense layer or a global pooling waits for the whole frame.  ``np_fire_block_rows``
groups output rows into blocks fired together (1: row streaming; large: frame-level firing);
the frame's last block waits for the whole input frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...geometry import SAME, axis_geometry
from ..mapping.memory import column_bands

# the timing model's kind of each hardware kind (``Layer.HW_KIND``); others forward events
KINDS = {"hrc": "hrc", "cnp_conv": "conv", "cnp_depthwise": "dw", "cnp_separable": "sep",
         "fnp": "fc"}


def taps(n_in: int, n_out: int, k: int, s: int, pad: int) -> np.ndarray:
    """For each input index, how many outputs of the convolution it contributes to."""
    i = np.arange(n_in)[:, None]
    o = np.arange(n_out)[None, :]
    d = i + pad - o * s
    return ((d >= 0) & (d < k)).sum(axis=1).astype(np.int64)


def last_input(n_in: int, k: int, s: int, pad: int, o: np.ndarray) -> np.ndarray:
    """For each output index ``o``, the last input index of its window."""
    return np.minimum(n_in - 1, o * s - pad + k - 1)


@dataclass
class Geometry:
    """Row geometry of one layer.

    ``kind``: hrc, conv (standard CNP), dw (depthwise), sep (separable), fc, pass (no NP:
    Add, Concatenate); ``needed[j]``: last input row output row j waits for; ``taps_x[r]`` /
    ``taps_y[c]``: conv output rows / columns an input event at row r / column c reaches;
    ``conv_x``/``conv_y``: conv output size before pooling; ``kernel``: kernel taps (kx * ky).
    """

    kind: str
    in_rows: int
    out_rows: int
    needed: np.ndarray
    taps_x: np.ndarray
    taps_y: np.ndarray
    conv_x: int = 1
    conv_y: int = 1
    kernel: int = 1


def layer_geometry(layer, fire_block: int) -> Geometry:
    """The :class:`Geometry` of ``layer`` when output rows fire in blocks of ``fire_block``
    (from the layer's normalised ``kernel``, ``stride``, ``padding``, ``pool`` and
    ``HW_KIND``)."""
    kind = KINDS.get(layer.HW_KIND, "pass")
    xin, yin, _ = layer.input_dims
    xo, _, _ = layer.output_dims
    if kind == "fc":
        return Geometry("fc", xin, 1, np.array([xin - 1], np.int64), np.ones(xin, np.int64),
                        np.ones(yin, np.int64))
    if kind != "pass":
        (kx, ky), (sx, sy) = layer.kernel, layer.stride
        same = layer.padding == SAME
        pool = layer.pool
        cx, padx = axis_geometry(xin, kx, sx, same)
        cy, pady = axis_geometry(yin, ky, sy, same)
        conv_last = last_input(xin, kx, sx, padx, np.arange(cx))
        if pool.type == "avg":  # global average pooling: one row at the end of the frame
            needed = np.array([xin - 1])
        elif pool.type == "max":
            ps = pool.size[0] if pool.size and pool.size[0] > 0 else 2
            pst = pool.stride[0] if pool.stride and pool.stride[0] > 0 else ps
            _, ppad = axis_geometry(cx, ps, pst, same)
            needed = conv_last[last_input(cx, ps, pst, ppad, np.arange(xo))]
        else:
            needed = conv_last[:xo]
        g = Geometry(kind, xin, xo, needed, taps(xin, cx, kx, sx, padx),
                     taps(yin, cy, ky, sy, pady), cx, cy, kx * ky)
    else:  # Add, Concatenate, anything row-aligned without NPs
        g = Geometry("pass", xin, xo, np.minimum(np.arange(xo), xin - 1),
                     np.ones(xin, np.int64), np.ones(yin, np.int64))
    if fire_block > 1 and g.out_rows > 1:
        j = np.arange(g.out_rows)
        block_end = np.minimum(g.out_rows - 1, (j // fire_block + 1) * fire_block - 1)
        g.needed = g.needed[block_end]
    g.needed = np.asarray(g.needed, np.int64)
    if fire_block > 1 and g.kind != "pass":
        # blocks: the frame's last block fires once the whole input frame is in, the rows no
        # window reads included (a 1x1 stride-2 convolution's last odd row, the rows a valid
        # window or a pooling drops): the NP still integrates their events (the CNP law), so
        # without this its frame ended before its work did
        g.needed[(g.out_rows - 1) // fire_block * fire_block:] = g.in_rows - 1
    return g


def component_bands(layer, comps) -> list[tuple[int, int]] | None:
    """The band of input rows ``[b0, b1)`` of each NP component of a band-split convolution,
    None when ``layer`` is not band-split (every component sees every row).

    The mapper cuts a convolution's input in bands of rows (Akida's column bands of
    ``input_dims[0]``, the axis it streams; widths
    :func:`~nsoc.hardware.mapping.memory.column_bands`) and places the filter groups band
    after band (band 0's groups, then band 1's; a band's first group starts at filter 0)."""
    n = len(comps)
    if KINDS.get(layer.HW_KIND) not in ("conv", "dw", "sep") or n < 2:
        return None
    n_bands = sum(1 for c in comps if c.start_neuron == 0)
    if n_bands < 2 or n % n_bands:
        return None
    groups = n // n_bands
    starts = [c.start_neuron for c in comps]
    bands = column_bands(int(layer.input_dims[0]), n_bands)
    if len(bands) != n_bands or any(starts[b * groups:(b + 1) * groups] != starts[:groups]
                                    for b in range(n_bands)):
        return None
    return [(off, off + cols) for off, cols in bands for _ in range(groups)]


def band_input_rows(layer, band: tuple[int, int]) -> tuple[int, int]:
    """Input rows whose events the NP of ``band`` receives: the band plus ``(kernel - 1) // 2``
    rows shared with each neighbouring band, the halo its kernel window reaches (what the
    mapper reserves input memory for, :func:`~nsoc.hardware.mapping.memory.
    v1_band_input_bytes`).  AKD1500 per-layer cycles: the a100 convolutions split in 6 to 12
    bands take the time of their widest band with its halo (``bench/calibration/README.md``)."""
    halo = (int(layer.kernel[0]) - 1) // 2
    return max(0, band[0] - halo), min(int(layer.input_dims[0]), band[1] + halo)


def band_output_rows(band: tuple[int, int], in_rows: int, out_rows: int) -> tuple[int, int]:
    """Output rows the NP of ``band`` computes and fires: those whose position scaled to the
    input, ``floor(o x in_rows / out_rows)``, falls in the band (stride and pooling alike)."""
    return -(-band[0] * out_rows // in_rows), -(-band[1] * out_rows // in_rows)

"""Per-sample output stages (numba): pooling, Akida 2.0 scale/shift/saturation, Akida 1.0 steps.

Private helpers called from the layer kernels; the arithmetic is specified in
:mod:`nsoc.kernels.reference` (``v2_output``, ``v1_output``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._util import conv_out, lohi, same_pad

INT64_MIN = np.iinfo(np.int64).min


def pool_geometry(cx: int, cy: int, stage):
    """(qx, qy, pad_x, pad_y) of the stage's pooling over a (cx, cy) potential map."""
    if stage.pool_type == 1:
        (z0, z1), (s0, s1) = stage.pool_size, stage.pool_stride
        qx, qy = conv_out(cx, z0, s0, stage.same), conv_out(cy, z1, s1, stage.same)
        if stage.same:
            return qx, qy, same_pad(cx, qx, z0, s0), same_pad(cy, qy, z1, s1)
        return qx, qy, 0, 0
    if stage.pool_type == 2:
        return 1, 1, 0, 0
    return cx, cy, 0, 0


def v2_args(stage, cx: int, cy: int):
    """Flat argument tuple of :func:`v2_finish` for a stage over a (cx, cy) potential map."""
    qx, qy, ppx, ppy = pool_geometry(cx, cy, stage)
    blo, bhi = lohi(stage.buffer_bits)
    plo, phi = lohi(stage.post_op_bits)
    return (stage.bias, bool(stage.relu), stage.clip, stage.scales, stage.shift, blo, bhi, plo,
            phi, stage.out_lo, stage.out_hi, stage.pool_type, stage.pool_size[0],
            stage.pool_size[1], stage.pool_stride[0], stage.pool_stride[1], ppx, ppy), (qx, qy)


def v1_args(stage, cx: int, cy: int):
    """Flat argument tuple of :func:`v1_finish`."""
    qx, qy, ppx, ppy = pool_geometry(cx, cy, stage)
    step16 = np.floor(stage.act_step.astype(np.float64) * 16).astype(np.int64)
    return (stage.threshold, step16, bool(stage.activation), (1 << stage.act_bits) - 1,
            stage.pool_type, stage.pool_size[0], stage.pool_size[1], stage.pool_stride[0],
            stage.pool_stride[1], ppx, ppy), (qx, qy)


@njit(cache=True)
def v2_finish(acc, out, bias, relu, clip, scales, shift, blo, bhi, plo, phi, olo, ohi,
              pool_type, z0, z1, s0, s1, ppx, ppy):
    """Potentials ``acc (cx, cy, F)`` (saturated to the buffer) -> ``out (qx, qy, F)``.

    Written flat (no helper calls in the loops): numba's inlined helpers defeated LLVM here.
    """
    cx, cy, nf = acc.shape
    qx, qy = out.shape[0], out.shape[1]
    pre = np.empty((qx, qy, nf), np.int64)
    if pool_type == 0:
        for a in range(cx):
            for b in range(cy):
                for f in range(nf):
                    v = min(max(np.int64(acc[a, b, f]) + bias[f], blo), bhi)
                    if relu:
                        v = min(max(v, 0), clip[f])
                    pre[a, b, f] = v
    elif pool_type == 1:
        for a in range(qx):
            x0 = max(a * s0 - ppx, 0)
            x1 = min(a * s0 - ppx + z0, cx)
            for b in range(qy):
                y0 = max(b * s1 - ppy, 0)
                y1 = min(b * s1 - ppy + z1, cy)
                for f in range(nf):
                    m = INT64_MIN
                    for i in range(x0, x1):
                        for j in range(y0, y1):
                            m = max(m, np.int64(acc[i, j, f]))
                    v = min(max(m + bias[f], blo), bhi)
                    if relu:
                        v = min(max(v, 0), clip[f])
                    pre[a, b, f] = v
    else:
        for f in range(nf):
            total = np.int64(0)
            for a in range(cx):
                for b in range(cy):
                    v = min(max(np.int64(acc[a, b, f]) + bias[f], blo), bhi)
                    if relu:
                        v = min(max(v, 0), clip[f])
                    total += v
            pre[0, 0, f] = min(max(total, blo), bhi)
    for a in range(qx):
        for b in range(qy):
            for f in range(nf):
                q = min(max(pre[a, b, f] * scales[f], plo), phi)
                sh = shift[f]
                if sh > 0:
                    q = q << min(sh, 31)
                elif sh < 0:
                    n = min(-sh, 62)
                    q = (q + (np.int64(1) << (n - 1))) >> n
                out[a, b, f] = min(max(q, olo), ohi)


@njit(cache=True)
def v1_finish(acc, out, thr, step16, activation, top, pool_type, z0, z1, s0, s1, ppx, ppy):
    """v1 potentials ``acc (cx, cy, F)`` -> pooled, activated ``out (qx, qy, F)``."""
    cx, cy, nf = acc.shape
    qx, qy = out.shape[0], out.shape[1]
    pre = np.empty((qx, qy, nf), np.int64)
    if pool_type == 0:
        for a in range(cx):
            for b in range(cy):
                for f in range(nf):
                    pre[a, b, f] = acc[a, b, f]
    elif pool_type == 1:
        for a in range(qx):
            x0 = max(a * s0 - ppx, 0)
            x1 = min(a * s0 - ppx + z0, cx)
            for b in range(qy):
                y0 = max(b * s1 - ppy, 0)
                y1 = min(b * s1 - ppy + z1, cy)
                for f in range(nf):
                    m = INT64_MIN
                    for i in range(x0, x1):
                        for j in range(y0, y1):
                            m = max(m, np.int64(acc[i, j, f]))
                    pre[a, b, f] = m
    else:
        for f in range(nf):
            total = np.int64(0)
            for a in range(cx):
                for b in range(cy):
                    total += acc[a, b, f]
            pre[0, 0, f] = total
    for a in range(qx):
        for b in range(qy):
            for f in range(nf):
                p = pre[a, b, f]
                if not activation:
                    out[a, b, f] = min(max(p, -2147483648), 2147483647)
                    continue
                d16 = (p - thr[f]) * 16
                st = step16[f]
                if st > 0:
                    q = -((-d16) // st)
                else:
                    q = top if d16 > 0 else 0
                out[a, b, f] = min(max(q, 0), top)

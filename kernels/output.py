"""Per-sample output stages (numba): pooling, Akida 2.0 scale/shift/saturation, Akida 1.0 steps.

Private helpers called from the layer kernels; the arithmetic is specified in
:mod:`nsoc.kernels.reference` (``v2_output``, ``v1_output``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .geometry import conv_output_size, same_pad_before, signed_range
from .reference import v1_step16

INT64_MIN = np.iinfo(np.int64).min


def pool_geometry(cx: int, cy: int, stage):
    """(qx, qy, pad_x, pad_y) of the stage's pooling over a (cx, cy) potential map."""
    if stage.pool_type == 1:
        (z0, z1), (s0, s1) = stage.pool_size, stage.pool_stride
        qx, qy = conv_output_size(cx, z0, s0, stage.same), conv_output_size(cy, z1, s1, stage.same)
        if stage.same:
            return qx, qy, same_pad_before(cx, qx, z0, s0), same_pad_before(cy, qy, z1, s1)
        return qx, qy, 0, 0
    if stage.pool_type == 2:
        return 1, 1, 0, 0
    return cx, cy, 0, 0


def v2_args(stage, cx: int, cy: int, acc=np.int64):
    """``(post, scalars, fast)`` arguments of :func:`v2_finish` for a stage over a (cx, cy) map
    of ``acc``-dtype potentials, built once per layer.

    ``post`` (int64 ``(8, F)``) holds per channel: the bias, the combined buffer/ReLU clamp
    bounds, the scale, the left shift, the rounding half, the right shift and the global-sum
    offset; ``scalars`` (int64) the register bounds, the pooling geometry and the mode (1: the
    int32 fast path of :func:`_fast_stage` applies); ``fast`` (int32 ``(8, F)``) the fast
    paths' per-channel constants.
    """
    qx, qy, ppx, ppy = pool_geometry(cx, cy, stage)
    blo, bhi = signed_range(stage.buffer_bits)
    plo, phi = signed_range(stage.post_op_bits)
    nf = len(stage.scales)
    post = np.empty((8, nf), np.int64)
    post[0] = stage.bias
    # sat(sat(v, blo, bhi) ReLU-clipped to [0, clip]) == sat(v, max(blo, 0), min(bhi, clip))
    # since 0 lies in both intervals
    post[1] = max(blo, 0) if stage.relu else blo
    post[2] = np.minimum(bhi, stage.clip) if stage.relu else bhi
    post[3] = stage.scales
    shift = np.asarray(stage.shift, np.int64)
    right = np.minimum(np.maximum(-shift, 0), 62)
    post[4] = np.minimum(np.maximum(shift, 0), 31)
    post[5] = np.where(right > 0, np.left_shift(1, np.maximum(right - 1, 0)), 0)
    post[6] = right
    fast = np.zeros((8, nf), np.int32)
    mode = 0
    narrow = np.dtype(acc) in (np.dtype(np.int16), np.dtype(np.int32))
    if narrow and stage.pool_type in (0, 1):
        mode = int(_fast_stage(stage, post, blo, bhi, fast))
    elif narrow and stage.pool_type == 2:
        mode = int(_fast_sum(post, blo, bhi, fast))
    (z0, z1), (s0, s1) = stage.pool_size, stage.pool_stride
    scalars = np.array([blo, bhi, plo, phi, stage.out_lo, stage.out_hi, stage.pool_type,
                        z0, z1, s0, s1, ppx, ppy, mode], np.int64)
    return (post, scalars, fast), (qx, qy)


def _stage_of(acc, stage, blo, bhi):
    """Reference stage (no pooling) of int64 potentials ``acc (M, F)``: the spec itself."""
    from .reference import v2_output
    p = np.clip(acc, blo, bhi)[:, None, None, :]
    return v2_output(p, stage._replace(pool_type=0))[:, 0, 0, :]


def _fast_stage(stage, post, blo, bhi, fast) -> bool:
    """Fill the int32 fast path constants (rows 0-5 of ``fast``) of a pool-free (or max-pooled)
    stage; False if some channel does not fit 31 bits.

    Per channel the stage g(p) is non-decreasing in the potential p and constant below some L
    and above some H (every clamp makes it so), and between L and H no clamp but the final one
    is active, so ``g(p) = clip(((t * S + C) >> R) + O, out_lo, out_hi)`` with
    ``t = clip(p, L, H) - L``, which is exact in int32 lanes when ``t * S + C`` fits 31 bits.
    L and H are found by bisection on the spec; the formula is checked against the spec at its
    edges and inside.
    """
    nf = post.shape[1]
    lo, hi = np.full(nf, -(1 << 31), np.int64), np.full(nf, (1 << 31) - 1, np.int64)
    g_lo, g_hi = (_stage_of(np.stack([lo, hi]), stage, blo, bhi))
    # L: last p with g(p) == g(lo); H: first p with g(p) == g(hi)
    a, b = lo.copy(), hi.copy()           # invariant: g(a) == g_lo, g(b) != g_lo (or a == b)
    same = g_lo == g_hi
    b[same] = a[same]
    while np.any(b - a > 1):
        m = (a + b) // 2
        eq = _stage_of(m[None], stage, blo, bhi)[0] == g_lo
        a, b = np.where(eq, m, a), np.where(eq, b, m)
    L = a
    a, b = lo.copy(), hi.copy()           # invariant: g(b) == g_hi, g(a) != g_hi (or a == b)
    a[same] = b[same]
    while np.any(b - a > 1):
        m = (a + b) // 2
        eq = _stage_of(m[None], stage, blo, bhi)[0] == g_hi
        a, b = np.where(eq, a, m), np.where(eq, m, b)
    H = np.where(same, L, b)
    W = H - L
    S, C, Rs, Off = (np.zeros(nf, np.int64) for _ in range(4))
    for f in range(nf):       # Python integers: no overflow while deriving the constants
        if same[f]:
            Off[f] = g_lo[f]
            continue
        scale, left, right = int(post[3, f]), int(post[4, f]), int(post[6, f])
        k = (int(L[f]) + int(post[0, f])) * scale
        if right > 0:
            k += int(post[5, f])
            s_, c_, r_, o_ = scale, k & ((1 << right) - 1), right, k >> right
        else:
            s_, c_, r_, o_ = scale << left, 0, 0, k << left
        top = int(W[f]) * s_ + c_
        if top >= 1 << 31 or abs(o_) >= 1 << 30 or top >> r_ >= 1 << 30:
            return False
        if r_ > 30:           # top < 2**31 <= 2**r_: the shifted term is 0
            s_, c_, r_ = 0, 0, 0
        S[f], C[f], Rs[f], Off[f] = s_, c_, r_, o_
    # the formula against the spec at the edges of the window and inside it
    rng = np.random.default_rng(0)
    probes = [L - 1, L, L + 1, H - 1, H, H + 1, (L + H) // 2]
    probes += [L + (rng.random(nf) * (W + 1)).astype(np.int64) for _ in range(32)]
    p = np.clip(np.stack(probes), lo, hi)
    t = np.clip(p, L, H) - L
    q = np.clip(((t * S + C) >> Rs) + Off, stage.out_lo, stage.out_hi)
    if not np.array_equal(q, _stage_of(p, stage, blo, bhi)):
        return False
    fast[0], fast[1], fast[2], fast[3], fast[4], fast[5] = L, H, Off, S, C, Rs
    return True


def _fast_sum(post, blo, bhi, fast) -> bool:
    """Constants of the global-sum fast path: each position's ReLU'd value
    ``sat(sat(p, buffer) + bias)`` clipped to ``[lo1, hi1]`` is ``clip(p, A, B) + D``
    (A, B int32 in ``fast[6:8]``, D int64 in ``post[7]``), summed in int64."""
    bias, lo1, hi1 = post[0], post[1], post[2]
    A, B = np.maximum(blo, lo1 - bias), np.minimum(bhi, hi1 - bias)
    empty = A > B
    const = np.where(lo1 - bias > bhi, lo1, hi1)      # the value when the window is empty
    post[7] = np.where(empty, const, bias)
    fast[6], fast[7] = np.where(empty, 0, A), np.where(empty, 0, B)
    return True


def v1_args(stage, cx: int, cy: int, acc=np.int64):
    """Flat argument tuple of :func:`v1_finish` for a stage over a (cx, cy) map of
    ``acc``-dtype potentials, built once per layer.

    With int16/int32 potentials, max or no pooling and at most 15 activation levels, the step
    activation is a count of thresholds (mode 1): ``q > n`` iff ``16 (p - T) > n * step16``
    iff ``p >= T + floor(n * step16 / 16) + 1`` (``p >= T + 1`` when ``step16 <= 0``), so
    ``q = #{n < top: p >= G[n]}`` with the ``G (top, F)`` table in the potentials' dtype (clipped
    to its range: exact because the accumulator never reaches its dtype's maximum, see
    :func:`nsoc.kernels.potentials.acc_dtype`), tiled along the output rows: ``(top, qy * F)``.
    """
    qx, qy, ppx, ppy = pool_geometry(cx, cy, stage)
    step16 = v1_step16(stage.act_step, stage.act_bits)
    top = (1 << stage.act_bits) - 1
    thr = np.asarray(stage.threshold, np.int64)
    nf = len(thr)
    mode = 0
    gt = np.zeros((1, nf), np.dtype(acc))
    if (stage.activation and stage.pool_type in (0, 1) and top <= 15
            and np.dtype(acc) in (np.dtype(np.int16), np.dtype(np.int32))
            and (nf == 0 or int(np.abs(thr).max()) < (1 << 40))):
        info = np.iinfo(acc)
        gt = np.empty((top, nf), np.dtype(acc))
        for n in range(top):
            for f in range(nf):
                t, st = int(thr[f]), int(step16[f])
                g = t + (n * st) // 16 + 1 if st > 0 else t + 1
                gt[n, f] = min(max(g, int(info.min)), int(info.max))
        gt = np.ascontiguousarray(np.tile(gt, (1, qy)))
        mode = 1
    return (stage.threshold, step16, bool(stage.activation), top, stage.pool_type,
            stage.pool_size[0], stage.pool_size[1], stage.pool_stride[0], stage.pool_stride[1],
            ppx, ppy, gt, mode), (qx, qy)


@njit(cache=True)
def _window_max(acc, a, b, z0, z1, s0, s1, ppx, ppy, dst):
    """``dst[f]`` = max of ``acc[i, j, f]`` over the pooling window of output ``(a, b)``
    (size ``z0 x z1``, stride ``s0 x s1``, leading padding ``ppx, ppy``; padding is ignored)."""
    cx, cy, nf = acc.shape
    x0, x1 = max(a * s0 - ppx, 0), min(a * s0 - ppx + z0, cx)
    y0, y1 = max(b * s1 - ppy, 0), min(b * s1 - ppy + z1, cy)
    row = acc[x0, y0]
    for f in range(nf):
        dst[f] = row[f]
    for i in range(x0, x1):
        for j in range(y0, y1):
            row = acc[i, j]
            for f in range(nf):
                dst[f] = max(dst[f], row[f])


@njit(cache=True)
def v2_finish(acc, out, post, sc, fast):
    """Potentials ``acc (cx, cy, F)`` (any int dtype, not yet saturated) -> ``out (qx, qy, F)``.

    The stage is non-decreasing in the potential, so max pooling takes the max of the raw
    potentials before the stage (same result as pooling after the bias).  With int32
    or int16 potentials (mode 1) the stage runs in 32-bit lanes (:func:`_fast_stage`).  Channels are
    innermost so LLVM vectorises every loop.
    """
    cx, cy, nf = acc.shape
    qx, qy = out.shape[0], out.shape[1]
    blo, bhi, plo, phi, olo, ohi = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5]
    pool_type, z0, z1, s0, s1, ppx, ppy = sc[6], sc[7], sc[8], sc[9], sc[10], sc[11], sc[12]
    use_fast = sc[13] == 1
    bias, lo1, hi1, scale = post[0], post[1], post[2], post[3]
    left, half, right = post[4], post[5], post[6]
    if pool_type == 2:
        tot = np.zeros(nf, np.int64)
        if use_fast:
            ga, gb = fast[6], fast[7]
            for a in range(cx):
                for b in range(cy):
                    row = acc[a, b]
                    for f in range(nf):
                        tot[f] += np.int32(min(max(row[f], ga[f]), gb[f]))
            for f in range(nf):
                tot[f] += cx * cy * post[7, f]
        else:
            for a in range(cx):
                for b in range(cy):
                    row = acc[a, b]
                    for f in range(nf):
                        v = min(max(np.int64(row[f]), blo), bhi) + bias[f]
                        tot[f] += min(max(v, lo1[f]), hi1[f])
        for f in range(nf):
            q = min(max(min(max(tot[f], blo), bhi) * scale[f], plo), phi)
            q = ((q << left[f]) + half[f]) >> right[f]
            out[0, 0, f] = min(max(q, olo), ohi)
        return
    pre = np.empty(nf, acc.dtype)
    fl, fh, fo, fs, fc, fr = fast[0], fast[1], fast[2], fast[3], fast[4], fast[5]
    olo32, ohi32 = np.int32(max(olo, -2147483648)), np.int32(min(ohi, 2147483647))
    for a in range(qx):
        for b in range(qy):
            if pool_type == 1:
                _window_max(acc, a, b, z0, z1, s0, s1, ppx, ppy, pre)
                src = pre
            else:
                src = acc[a, b]
            orow = out[a, b]
            if use_fast:
                for f in range(nf):
                    t = np.int32(min(max(np.int32(src[f]), fl[f]), fh[f]) - fl[f])
                    # "& 31" (fr < 31) lets LLVM shift in 32-bit lanes
                    u = np.int32(np.int32(t * fs[f] + fc[f]) >> (fr[f] & 31))
                    q = np.int32(u + fo[f])
                    orow[f] = min(max(q, olo32), ohi32)
            else:
                for f in range(nf):
                    v = min(max(np.int64(src[f]), blo), bhi) + bias[f]
                    v = min(max(v, lo1[f]), hi1[f])
                    q = min(max(v * scale[f], plo), phi)
                    q = ((q << left[f]) + half[f]) >> right[f]
                    orow[f] = min(max(q, olo), ohi)


@njit(cache=True)
def v1_finish(acc, out, thr, step16, activation, top, pool_type, z0, z1, s0, s1, ppx, ppy, gt,
              mode):
    """v1 potentials ``acc (cx, cy, F)`` -> pooled, activated ``out (qx, qy, F)``.

    Mode 1 (:func:`v1_args`): max pooling fused with the threshold-count activation, branch
    free in the potentials' dtype, over whole output rows (``gt`` tiled along y)."""
    cx, cy, nf = acc.shape
    qx, qy = out.shape[0], out.shape[1]
    if mode == 1:
        m = qy * nf
        prow = np.empty(m, acc.dtype)
        cnt = np.empty(m, acc.dtype)
        for a in range(qx):
            if pool_type == 1:
                for b in range(qy):
                    _window_max(acc, a, b, z0, z1, s0, s1, ppx, ppy, prow[b * nf:(b + 1) * nf])
                src = prow
            else:
                src = acc[a].reshape(m)
            for k in range(m):
                cnt[k] = 0
            for n in range(top):
                g = gt[n]
                for k in range(m):
                    cnt[k] += src[k] >= g[k]
            orow = out[a].reshape(m)
            for k in range(m):
                orow[k] = cnt[k]
        return
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
                prow = pre[a, b]
                for f in range(nf):
                    prow[f] = INT64_MIN
                for i in range(x0, x1):
                    for j in range(y0, y1):
                        row = acc[i, j]
                        for f in range(nf):
                            prow[f] = max(prow[f], np.int64(row[f]))
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
                # ceil(d16 / st) clipped to [0, top]; the division only where not clipped
                if d16 <= 0:
                    q = 0
                elif st <= 0 or d16 > (top - 1) * st:
                    q = top
                else:
                    q = (d16 + st - 1) // st
                out[a, b, f] = q

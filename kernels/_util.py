"""Shared kernel parameter records and small numba helpers (saturation, rounded shifts)."""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import NamedTuple

# numba's OpenMP workers spin between parallel regions by default; on a 2-core machine shared
# with other processes a spinning worker steals the core the next region needs (measured: 4x
# slower predict under load).  Sleeping workers cost ~nothing here.  Set before numba loads
# its threading layer; an explicit user setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

# Below this many multiply-accumulates per call, the kernels run on one thread: measured on the
# 2-core machine, starting the parallel region costs more than it saves for small layers.
PARALLEL_MIN_WORK = 1 << 22


@contextmanager
def threads_for(work: int):
    """Run the enclosed kernel call single-threaded when ``work`` (MACs) is small."""
    if work >= PARALLEL_MIN_WORK or numba.get_num_threads() == 1:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def kernel_array(x: np.ndarray) -> np.ndarray:
    """``x`` C-contiguous and writable, the one layout the kernels are compiled for.

    numba types a read-only array (a chunk of an ``np.load(..., mmap_mode="r")`` input, as
    ``nsoc run`` reads) apart from a writable one: passing it as is would compile (and cache) a
    second specialisation of every first-layer kernel, which ``nsoc warmup`` cannot foresee.
    Copying the chunk costs far less than that compilation."""
    x = np.ascontiguousarray(x)
    return x if x.flags.writeable else x.copy()


class V2Stage(NamedTuple):
    """Akida 2.0 output stage of one layer (see :mod:`nsoc.kernels.reference`).

    Arrays are C-contiguous int64 of length F (output channels).
    """

    bias: np.ndarray          # bias << bias_shift
    relu: bool
    clip: np.ndarray          # max_value << max_value_shift (ReLU ceiling)
    scales: np.ndarray        # output_scales (0..255)
    shift: np.ndarray         # output_shift: > 0 left, < 0 rounded right
    buffer_bits: int          # accumulator width (signed), 28 by default
    post_op_bits: int         # width after the scale multiply (signed), 32 by default
    out_lo: int               # output range
    out_hi: int
    pool_type: int            # 0 none, 1 max, 2 global (sum)
    pool_size: tuple          # (along x, along y)
    pool_stride: tuple
    same: bool                # 'same' padding of the conv and of its max pooling


class V1Stage(NamedTuple):
    """Akida 1.0 pooling and activation of one layer."""

    threshold: np.ndarray     # int64[F]
    act_step: np.ndarray      # float32[F]
    activation: bool
    act_bits: int
    pool_type: int
    pool_size: tuple
    pool_stride: tuple
    same: bool


@njit(cache=True)
def sat(v, lo, hi):
    """Clip an int64 to ``[lo, hi]``."""
    return min(max(v, lo), hi)


@njit(cache=True)
def shift_round(v, s):
    """Left shift if ``s`` > 0 else right shift rounding half up (|v| < 2**32)."""
    if s > 0:
        return v << min(s, 31)
    if s < 0:
        n = min(-s, 62)
        return (v + (np.int64(1) << (n - 1))) >> n
    return v

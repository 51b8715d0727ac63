"""numba kernels == numpy reference spec, exactly, on random operands including every bit-width
limit (int8 -128/127 and 4-bit -8/7 weights, uint8 255 inputs, maximal shifts, buffer and
post-op overflows)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsoc import kernels as K
from nsoc.kernels import reference as R

SETTINGS = settings(max_examples=200, deadline=None)
OUT = np.int32  # every output range fits int32 (output_bits <= 32)


def _ints(rng, mode, lo, hi, shape, dtype=np.int64):
    """Random integers in [lo, hi]: uniform, only the two limits, or sparse (mostly zero)."""
    if mode == "limits":
        a = rng.choice(np.array([lo, hi], np.int64), size=shape)
    else:
        a = rng.integers(lo, hi, size=shape, endpoint=True)
        if mode == "sparse":
            a[rng.random(shape) < 0.75] = 0
    return a.astype(dtype)


def _weights(rng, mode, bits, shape):
    return _ints(rng, mode, -(1 << (bits - 1)), (1 << (bits - 1)) - 1, shape, np.int8)


def _input(rng, mode, dtype, shape):
    info = np.iinfo(dtype)
    return _ints(rng, mode, int(info.min), int(info.max), shape, dtype)


MODES = st.sampled_from(["uniform", "limits", "sparse"])


def _v2_stage(rng, nf, pool_type, pool_size, pool_stride, same, wide):
    buffer_bits = int(rng.choice([28, 32, 20, 12] if wide else [28, 32]))
    post_bits = int(rng.choice([32, 24, 16]))
    out_bits = int(rng.choice([1, 2, 4, 8, 16, 28, 32]))
    signed = bool(rng.integers(2)) or out_bits > 16   # outputs are int32 at most
    lo, hi = R.int_range(out_bits, signed)
    bias_shift = rng.integers(0, 32, nf) if rng.random() < 0.2 else rng.integers(0, 6, nf)
    relu = bool(rng.integers(2))
    clip = np.left_shift(rng.integers(0, 256, nf), rng.integers(0, 32, nf)) if relu \
        else np.zeros(nf, np.int64)
    shift = rng.integers(-64, 64, nf) if rng.random() < 0.2 else rng.integers(-24, 4, nf)
    return K.V2Stage(np.left_shift(rng.integers(-128, 128, nf), bias_shift).astype(np.int64),
                     relu, clip.astype(np.int64), rng.integers(0, 256, nf).astype(np.int64),
                     shift.astype(np.int64), buffer_bits, post_bits, lo, hi, pool_type,
                     pool_size, pool_stride, same)


def _geometry(data, sx, sy, k):
    """stride, same, pool (type, size, stride) valid for a (sx, sy) input and k kernel."""
    stride = data.draw(st.integers(1, 3))
    same = data.draw(st.booleans()) if k <= min(sx, sy) else True
    ox, oy = R.conv_output_size(sx, k, stride, same), R.conv_output_size(sy, k, stride, same)
    pool_type = data.draw(st.sampled_from([0, 0, 1, 2]))
    size = ps = (1, 1)
    if pool_type == 1:
        z = data.draw(st.integers(1, 3))
        z = min(z, ox, oy) if not same else z
        s = data.draw(st.integers(1, 3))
        size, ps = (z, z), (s, s)
    return (stride, stride), same, pool_type, size, ps


def _check(a, b):
    assert a.shape == b.shape
    np.testing.assert_array_equal(a.astype(np.int64), b.astype(np.int64))


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), mode=MODES)
def test_input_conv2d_v2(data, seed, mode):
    rng = np.random.default_rng(seed)
    sx, sy, c = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9)), data.draw(
        st.sampled_from([1, 3, 4]))
    k = data.draw(st.integers(1, 5))
    strides, same, pt, size, ps = _geometry(data, sx, sy, k)
    nf = data.draw(st.integers(1, 9))
    x = _input(rng, mode, np.uint8, (data.draw(st.integers(1, 3)), sx, sy, c))
    w = _weights(rng, mode, 8, (k, k, c, nf))
    pv = rng.integers(0, 256, c) if rng.random() < 0.5 else np.zeros(c, np.int64)
    stage = _v2_stage(rng, nf, pt, size, ps, same, wide=True)
    _check(K.input_conv2d_v2(x, w, strides, same, pv, stage, dtype=OUT),
           R.input_conv2d_v2(x, w, strides, same, pv, stage))


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), mode=MODES,
       dtype=st.sampled_from([np.uint8, np.int8]), wbits=st.sampled_from([4, 8]))
def test_conv2d_v2(data, seed, mode, dtype, wbits):
    rng = np.random.default_rng(seed)
    sx, sy, c = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9)), data.draw(
        st.integers(1, 6))
    k = data.draw(st.integers(1, 4))
    strides, same, pt, size, ps = _geometry(data, sx, sy, k)
    nf = data.draw(st.integers(1, 9))
    x = _input(rng, mode, dtype, (data.draw(st.integers(1, 3)), sx, sy, c))
    w = _weights(rng, mode, wbits, (k, k, c, nf))
    shift = rng.integers(0, 32, c) if rng.random() < 0.3 else rng.integers(0, 3, c)
    stage = _v2_stage(rng, nf, pt, size, ps, same, wide=True)
    _check(K.conv2d_v2(x, w, strides, same, shift, stage, dtype=OUT),
           R.conv2d_v2(x, w, strides, same, shift, stage))


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), mode=MODES,
       dtype=st.sampled_from([np.uint8, np.int8]), wbits=st.sampled_from([4, 8]))
def test_depthwise_conv2d_v2(data, seed, mode, dtype, wbits):
    rng = np.random.default_rng(seed)
    sx, sy, c = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9)), data.draw(
        st.integers(1, 6))
    k = data.draw(st.integers(1, 4))
    strides, same, pt, size, ps = _geometry(data, sx, sy, k)
    x = _input(rng, mode, dtype, (data.draw(st.integers(1, 3)), sx, sy, c))
    w = _weights(rng, mode, wbits, (k, k, c, 1))
    shift = rng.integers(0, 32, c) if rng.random() < 0.3 else rng.integers(0, 3, c)
    stage = _v2_stage(rng, c, pt, size, ps, same, wide=True)
    _check(K.depthwise_conv2d_v2(x, w, strides, same, shift, stage, dtype=OUT),
           R.depthwise_conv2d_v2(x, w, strides, same, shift, stage))


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), mode=MODES,
       dtype=st.sampled_from([np.uint8, np.int8]), wbits=st.sampled_from([4, 8]))
def test_dense_v2(data, seed, mode, dtype, wbits):
    rng = np.random.default_rng(seed)
    fan_in, units = data.draw(st.integers(1, 300)), data.draw(st.integers(1, 20))
    x = _input(rng, mode, dtype, (data.draw(st.integers(1, 4)), fan_in))
    w = _weights(rng, mode, wbits, (fan_in, units))
    shift = rng.integers(0, 32, fan_in) if rng.random() < 0.3 else rng.integers(0, 3, fan_in)
    stage = _v2_stage(rng, units, 0, (1, 1), (1, 1), True, wide=True)
    _check(K.dense_v2(x, w, shift, stage, dtype=OUT), R.dense_v2(x, w, shift, stage))


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), mode=MODES, dtype=st.sampled_from([np.uint8, np.int8]),
       relu=st.booleans(), shape=st.tuples(st.integers(1, 3), st.integers(1, 5),
                                           st.integers(1, 5), st.integers(1, 6)))
def test_add(seed, mode, dtype, relu, shape):
    rng = np.random.default_rng(seed)
    a, b = _input(rng, mode, dtype, shape), _input(rng, mode, dtype, shape)
    c = shape[-1]
    big = rng.random() < 0.3
    a_s, b_s = (rng.integers(0, 32 if big else 4, c) for _ in range(2))
    o_s = rng.integers(-64, 64, c) if big else rng.integers(-8, 3, c)
    bb, pb = int(rng.choice([32, 28, 12])), int(rng.choice([32, 16]))
    lo, hi = R.int_range(int(rng.choice([4, 8, 16])), bool(rng.integers(2)))
    _check(K.add(a, b, a_s, b_s, o_s, bb, pb, relu, lo, hi, dtype=OUT),
           R.add(a, b, a_s, b_s, o_s, bb, pb, relu, lo, hi))


def _v1_stage(rng, nf, pool_type, size, ps, same, activation):
    act_bits = int(rng.choice([1, 2, 4]))
    step = rng.uniform(0.01, 300, nf).astype(np.float32)
    return K.V1Stage(rng.integers(-3000, 3000, nf).astype(np.int64), step, activation, act_bits,
                     pool_type, size, ps, same)


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), mode=MODES,
       kind=st.sampled_from(["input", "conv", "separable"]), activation=st.booleans())
def test_conv_v1(data, seed, mode, kind, activation):
    rng = np.random.default_rng(seed)
    sx, sy, c = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9)), data.draw(
        st.integers(1, 5))
    k = data.draw(st.integers(1, 4))
    strides, same, pt, size, ps = _geometry(data, sx, sy, k)
    nf = data.draw(st.integers(1, 8))
    n = data.draw(st.integers(1, 3))
    if kind == "input":
        x = _input(rng, mode, np.uint8, (n, sx, sy, c))
        w, pw = _weights(rng, mode, 8, (k, k, c, nf)), None
        pv = np.full(c, rng.integers(0, 256) if rng.random() < 0.5 else 0, np.int64)
    else:
        x = _ints(rng, mode, 0, 15, (n, sx, sy, c), np.uint8)
        pv = np.zeros(c, np.int64)
        if kind == "conv":
            w, pw = _weights(rng, mode, 4, (k, k, c, nf)), None
        else:
            w, pw = _weights(rng, mode, 4, (k, k, c, 1)), _weights(rng, mode, 4, (1, 1, c, nf))
    stage = _v1_stage(rng, nf, pt, size, ps, same, activation)
    _check(K.conv_v1(x, w, strides, same, pv, stage, pw, dtype=OUT),
           R.conv_v1(x, w, strides, same, pv, stage, pw))


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), mode=MODES, activation=st.booleans(),
       fan_in=st.integers(1, 400), units=st.integers(1, 16), n=st.integers(1, 4))
def test_dense_v1(seed, mode, activation, fan_in, units, n):
    rng = np.random.default_rng(seed)
    x = _ints(rng, mode, 0, 15, (n, fan_in), np.uint8)
    w = _weights(rng, mode, 4, (fan_in, units))
    stage = _v1_stage(rng, units, 0, (1, 1), (1, 1), True, activation)
    _check(K.dense_v1(x, w, stage, dtype=OUT), R.dense_v1(x, w, stage))


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), mode=MODES,
       kind=st.sampled_from(["input", "conv"]))
def test_conv_v1_grey_3x3_steps(data, seed, mode, kind):
    """3x3 kernels on one input channel (the grey-image InputConvolutional path) and the
    threshold-count step activation, with thresholds and steps reaching beyond the potentials'
    range, zero and negative steps."""
    rng = np.random.default_rng(seed)
    sx, sy = data.draw(st.integers(3, 12)), data.draw(st.integers(3, 12))
    strides, same, pt, size, ps = _geometry(data, sx, sy, 3)
    nf, n = data.draw(st.integers(1, 20)), data.draw(st.integers(1, 3))
    if kind == "input":
        x = _input(rng, mode, np.uint8, (n, sx, sy, 1))
        w = _weights(rng, mode, 8, (3, 3, 1, nf))
        pv = np.full(1, rng.integers(0, 256) if rng.random() < 0.5 else 0, np.int64)
    else:
        x = _ints(rng, mode, 0, 15, (n, sx, sy, data.draw(st.integers(1, 4))), np.uint8)
        w = _weights(rng, mode, 4, (3, 3, x.shape[3], nf))
        pv = np.zeros(x.shape[3], np.int64)
    pick = rng.integers(3, size=nf)
    thr = np.choose(pick, [rng.integers(-3000, 3000, nf), rng.integers(-2**31, 2**31, nf),
                           rng.integers(-40, 40, nf)]).astype(np.int64)
    step = np.choose(rng.integers(3, size=nf), [rng.uniform(0.01, 300, nf),
                                                rng.uniform(-2, 0.1, nf),
                                                rng.uniform(1e3, 1e7, nf)]).astype(np.float32)
    stage = K.V1Stage(thr, step, True, int(rng.choice([1, 2, 4])), pt, size, ps, same)
    _check(K.conv_v1(x, w, strides, same, pv, stage, dtype=OUT),
           R.conv_v1(x, w, strides, same, pv, stage))


# ----- the spec itself on hand-computed values ------------------------------------------------
def test_shift_round_is_half_up():
    x = np.array([5, 6, 7, -5, -6, -7, 3], np.int64)
    assert R.shift_round(x, -1).tolist() == [3, 3, 4, -2, -3, -3, 2]
    assert R.shift_round(x, 2).tolist() == [20, 24, 28, -20, -24, -28, 12]
    assert R.shift_round(np.array([2**31 - 1]), -64).tolist() == [0]


def test_saturation_not_wrap():
    stage = K.V2Stage(np.zeros(1, np.int64), False, np.zeros(1, np.int64), np.ones(1, np.int64),
                      np.zeros(1, np.int64), 12, 32, -(2**31), 2**31 - 1, 0, (1, 1), (1, 1), True)
    x = np.full((1, 1, 1, 4), 127, np.int8)
    w = np.full((1, 1, 4, 1), 127, np.int8)
    # 4 * 127 * 127 = 64516 saturates the 12-bit buffer at 2047 (a wrap would give 516)
    for mod in (K, R):
        assert mod.conv2d_v2(x, w, (1, 1), True, np.zeros(4), stage).ravel().tolist() == [2047]


def test_v1_step_has_four_fractional_bits():
    # step 49.349 is held as 789/16 = 49.3125: 148 > 3 * 49.3125, so the output is 4 (a float
    # step would give ceil(2.999) = 3)
    out = R.v1_activation(np.array([153]), np.array([5]), np.array([49.349396], np.float32), 4)
    assert out.tolist() == [4]


@pytest.mark.parametrize("mod", [K, R], ids=["numba", "reference"])
def test_max_pool_same_ignores_padding(mod):
    # negative potentials: a padded zero must not win the max
    stage = K.V2Stage(np.zeros(1, np.int64), False, np.zeros(1, np.int64), np.ones(1, np.int64),
                      np.zeros(1, np.int64), 28, 32, -128, 127, 1, (2, 2), (2, 2), True)
    x = np.full((1, 3, 3, 1), 1, np.int8)
    w = np.full((1, 1, 1, 1), -5, np.int8)
    out = mod.conv2d_v2(x, w, (1, 1), True, np.zeros(1), stage)
    assert out.shape == (1, 2, 2, 1) and np.all(out == -5)



@pytest.mark.parametrize("act_bits, expected", [(4, [1, 3, 8]), (2, [1, 3, 3]), (1, [1, 1, 1])])
def test_v1_step_is_stored_scaled_to_four_bits(act_bits, expected):
    # act_step holds step * 2**(act_bits - 4) and one output level is 2**(4 - act_bits) stored
    # steps: step 12.5 at every width, potentials 10, 30, 100 above the threshold (reading the
    # stored step as the level would give [3, 3, 3] at 2 bits)
    step = np.full(3, 12.5 * 2.0 ** (act_bits - 4), np.float32)
    thr = np.zeros(3, np.int64)
    assert R.v1_activation(np.array([10, 30, 100]), thr, step, act_bits).tolist() == expected
    stage = K.V1Stage(thr[:1], step[:1], True, act_bits, 0, (1, 1), (1, 1), True)
    x = np.array([[10], [30], [100]], np.uint8)
    w = np.ones((1, 1), np.int8)
    for mod in (K, R):
        out = mod.dense_v1(x, w, stage)
        assert np.asarray(out).ravel().tolist() == expected

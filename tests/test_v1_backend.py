"""The one Akida 1.0 back end both front ends end with: ``variables.v1_finalize`` (act steps above
the NP limit clamped into the next layer's weights, thresholds saturated or refused)."""
import numpy as np
import pytest

from nsoc.converter.variables import V1_CNP_ACT_STEP_MAX, V1_HRC_ACT_STEP_MAX, v1_finalize
from nsoc.errors import ConversionError
from nsoc.layers import make_layer


def _input_conv(step, threshold, filters=2):
    params = dict(act_bits=4, activation=1, filters=filters, kernel_height=1, kernel_width=1,
                  input_width=2, input_height=2, input_channels=1, weights_bits=8)
    return make_layer("InputConvolutional", "conv", params, {
        "weights": np.ones((1, 1, 1, filters), np.int8),
        "threshold": np.asarray(threshold, np.int32), "act_step": np.asarray(step, np.float32)})


def _dense(fan_in, weights=None):
    w = np.full((1, 1, fan_in, 1), 7, np.int8) if weights is None else weights
    return make_layer("FullyConnected", "fc", dict(act_bits=4, activation=0, units=1,
                                                  weights_bits=4),
                      {"weights": w, "threshold": np.zeros(1, np.int32),
                       "act_step": np.ones(1, np.float32)}, ["conv"])


def test_act_step_above_limit_moves_into_fully_connected_weights_in_c_y_x_order():
    # 2 filters on a 2x2 map: the FC fan-in is 8 in (c, y, x) order, channel-major
    conv = _input_conv([V1_HRC_ACT_STEP_MAX * 3.5, 10.0], [0, 0])
    fc = _dense(8)
    v1_finalize([conv, fc])
    assert conv.variables["act_step"].tolist() == [V1_HRC_ACT_STEP_MAX, 10.0]
    # channel 0's four inputs are divided (floor) by 3.5, channel 1's kept
    assert fc.variables["weights"].ravel().tolist() == [2, 2, 2, 2, 7, 7, 7, 7]
    # the threshold moves by round((new - old) / 2) at 4 bits
    assert conv.variables["threshold"][0] == int(np.round(np.float32(0.5) * np.float32(
        V1_HRC_ACT_STEP_MAX - np.float32(V1_HRC_ACT_STEP_MAX * 3.5))))


def test_cnp_limit_for_event_layers():
    params = dict(act_bits=4, activation=1, filters=1, kernel_height=1, kernel_width=1)
    conv = make_layer("Convolutional", "c1", dict(params, weights_bits=4), {
        "weights": np.ones((1, 1, 1, 1), np.int8), "threshold": np.zeros(1, np.int32),
        "act_step": np.full(1, V1_CNP_ACT_STEP_MAX * 2.0, np.float32)})
    nxt = make_layer("Convolutional", "c2", dict(params, weights_bits=4, activation=0), {
        "weights": np.full((1, 1, 1, 1), 7, np.int8), "threshold": np.zeros(1, np.int32),
        "act_step": np.ones(1, np.float32)}, ["c1"])
    v1_finalize([conv, nxt])
    assert conv.variables["act_step"].tolist() == [V1_CNP_ACT_STEP_MAX]
    assert nxt.variables["weights"].ravel().tolist() == [3]


def test_thresholds_saturate_above_and_refuse_below():
    conv = _input_conv([1.0, 1.0], [1 << 30, 0])
    with pytest.warns(UserWarning, match="saturated"):
        v1_finalize([conv, _dense(8)])
    assert conv.variables["threshold"][0] == (1 << 23) - 1
    with pytest.raises(ConversionError, match="24-bit signed"):
        v1_finalize([_input_conv([1.0, 1.0], [-(1 << 30), 0]), _dense(8)])

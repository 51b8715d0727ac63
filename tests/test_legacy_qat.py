"""Quantization-aware training with the legacy quantized layers: post-training quantization at
2-bit weights / 1-bit activations loses accuracy on a small synthetic task, and a few epochs of
``fit`` on the quantized model (float shadow weights, straight-through estimator) recover it."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tf_keras as keras  # noqa: E402

from nsoc.converter.legacy import convert_legacy, quantize  # noqa: E402

L = keras.layers


def _data(templates, n, seed):
    """Four classes: a fixed random 8x8 pattern per class plus unit Gaussian noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = templates[y] + rng.normal(0, 1.0, (n, 8, 8, 1))
    return x.astype(np.float32), y


def _accuracy(model, x, y):
    return float(np.mean(model.predict(x, verbose=0).argmax(1) == y))


def test_qat_recovers_post_training_quantization_loss():
    keras.utils.set_random_seed(0)
    templates = np.random.default_rng(0).normal(0, 1, (4, 8, 8, 1)).astype(np.float32)
    x_train, y_train = _data(templates, 512, 1)
    x_test, y_test = _data(templates, 256, 2)
    model = keras.Sequential([
        keras.Input((8, 8, 1)), L.Conv2D(8, 3, padding="same"), L.BatchNormalization(),
        L.ReLU(), L.MaxPooling2D(2, padding="same"), L.Conv2D(8, 3, padding="same"), L.ReLU(),
        L.Flatten(), L.Dense(4)])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(keras.optimizers.Adam(1e-2), loss)
    model.fit(x_train, y_train, epochs=5, batch_size=32, verbose=0)
    float_acc = _accuracy(model, x_test, y_test)
    assert float_acc >= 0.9

    qmodel = quantize(model, weight_quantization=2, activ_quantization=1)
    ptq_acc = _accuracy(qmodel, x_test, y_test)
    assert ptq_acc <= float_acc - 0.15  # low bit widths hurt without retraining

    conv = qmodel.layers[0]
    before = conv.get_weights()[0].copy()
    qmodel.compile(keras.optimizers.Adam(1e-3), loss)
    qmodel.fit(x_train, y_train, epochs=3, batch_size=32, verbose=0)
    qat_acc = _accuracy(qmodel, x_test, y_test)
    assert qat_acc >= ptq_acc + 0.15 and qat_acc >= 0.85
    after = conv.get_weights()[0]
    assert not np.array_equal(before, after)  # float shadow weights were trained
    ints = conv.quantizer.quantize(after).numpy() * conv.quantizer.scale_factor(after).numpy()
    np.testing.assert_allclose(ints, np.round(ints), atol=1e-4)  # still on the 2-bit grid
    assert set(np.unique(np.round(ints))) <= {-1.0, 0.0, 1.0}

    # the retrained model converts to Akida 1.0 (1-bit activations, 2-bit weights)
    akida = convert_legacy(qmodel, input_scaling=(1, 0))
    assert [lay.params["act_bits"] for lay in akida.layers[:-1]] == [1, 1]

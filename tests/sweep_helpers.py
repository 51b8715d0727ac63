"""Shared by the sweep tests (tests/test_sweep.py, tests/test_sweep_dask.py): the shipped
fixture files as absolute paths, and sweep rows without their wall-clock time."""
import os

FIXTURES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "fixtures"))
KWS = os.path.join(FIXTURES, "kws_dscnn.fbz")
KWS_X = os.path.join(FIXTURES, "kws_inputs.npy")
KWS_Y = os.path.join(FIXTURES, "kws_labels.npy")
MNIST_V1 = os.path.join(FIXTURES, "mnist_cnn_v1.fbz")


def without_seconds(rows) -> list:
    """The rows (dicts) with their ``seconds`` field (wall-clock, never reproducible) dropped."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]

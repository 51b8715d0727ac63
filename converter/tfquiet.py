"""Keep TensorFlow's own log lines off the user's terminal (unless ``--verbose``).

TensorFlow writes C++ log lines to file descriptor 2 while it is imported: CUDA factory
registration, "computation placer already registered", CPU feature notes.  Some are printed before
absl's logging is initialised, so no environment variable silences them.  :func:`quiet_tensorflow`
sets the logging environment, imports TensorFlow with fd 2 captured, and writes back every
captured line that is not one of TensorFlow's log lines (a real error still shows).  It then
lowers TensorFlow's Python loggers to errors and ignores tf_keras's "HDF5 is legacy" warning.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import warnings

QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR", "GLOG_minloglevel": "3"}

# Lines TensorFlow's C++ runtime and absl print: "E0000 00:00:... file.cc:N] ...",
# "2026-01-01 00:00:00.000000: I tensorflow/...", absl's pre-init notice, and the continuation
# line of the CPU-feature note.
TF_LOG_LINE = re.compile(
    r"^(?:[EWIF]\d{4} \d\d:\d\d:[\d.]+\s+\d+ \S+:\d+\]"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [EWIF] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions:"
    r"|oneDNN custom operations are on)")


def set_quiet_environment() -> None:
    """Set TensorFlow's logging variables (only those the user has not set); call before
    TensorFlow is imported."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


@contextlib.contextmanager
def filtered_stderr():
    """Capture file descriptor 2; on exit write back the lines that are not TensorFlow logs."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # pytest capture or no real stderr
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            kept = [line for line in tmp.read().decode("utf-8", "replace").splitlines(True)
                    if not TF_LOG_LINE.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def quiet_tensorflow(verbose: bool = False) -> None:
    """Import TensorFlow and tf_keras without their log noise (no-op filtering with
    ``verbose``)."""
    if verbose:
        import tensorflow  # noqa: F401
        return
    set_quiet_environment()
    if "tensorflow" not in sys.modules:
        with filtered_stderr():
            import tensorflow  # noqa: F401
            import tf_keras  # noqa: F401
    import logging

    import tensorflow as tf
    tf.get_logger().setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging
        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # absl ships with TensorFlow; keep going without it
        pass
    warnings.filterwarnings("ignore", message=r".*HDF5 file via `model\.save\(\)`.*")
    warnings.filterwarnings("ignore", message=r".*No training configuration found.*")

"""Target Akida version of the conversion (cnn2snn's ``AkidaVersion`` API).

The target is read from the environment on every call: ``NSOC_TARGET_AKIDA_VERSION`` wins over
``CNN2SNN_TARGET_AKIDA_VERSION``; the default is Akida 2.0 (``v2``).  :func:`set_akida_version`
sets ``NSOC_TARGET_AKIDA_VERSION`` for the duration of a ``with`` block and restores it after.
"""
from __future__ import annotations

import contextlib
import enum
import os

from nsoc.errors import ConversionError

ENV_NSOC = "NSOC_TARGET_AKIDA_VERSION"
ENV_CNN2SNN = "CNN2SNN_TARGET_AKIDA_VERSION"


class AkidaVersion(enum.Enum):
    """Akida IP generation a model is converted for."""

    v1 = "v1"
    v2 = "v2"

    def __str__(self):
        return self.value


def _parse(value, source: str) -> AkidaVersion:
    if isinstance(value, AkidaVersion):
        return value
    text = str(value).strip().lower()
    if text.startswith("akidaversion."):
        text = text.split(".", 1)[1]
    try:
        return AkidaVersion(text)
    except ValueError:
        raise ConversionError(
            f"{source}: unknown Akida version {value!r}; use 'v1' (Akida 1.0) or 'v2' "
            f"(Akida 2.0)") from None


def to_version(value) -> AkidaVersion:
    """Parse ``value`` ('v1', 'v2' or an :class:`AkidaVersion`) into an :class:`AkidaVersion`."""
    return _parse(value, "target version")


def get_akida_version() -> AkidaVersion:
    """The current conversion target (environment variables, default ``AkidaVersion.v2``)."""
    for env in (ENV_NSOC, ENV_CNN2SNN):
        value = os.environ.get(env)
        if value:
            return _parse(value, f"environment variable {env}")
    return AkidaVersion.v2


@contextlib.contextmanager
def set_akida_version(version):
    """Context manager targeting ``version`` for the conversions run inside the block."""
    version = to_version(version)
    previous = os.environ.get(ENV_NSOC)
    os.environ[ENV_NSOC] = version.value
    try:
        yield version
    finally:
        if previous is None:
            os.environ.pop(ENV_NSOC, None)
        else:
            os.environ[ENV_NSOC] = previous

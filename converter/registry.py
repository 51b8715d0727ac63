"""Registry of block handlers, keyed by the quantizeml class name of a block's main layer.

A handler (a :class:`BlockHandler` subclass, one module per block kind in ``handlers/``) declares
the layer patterns it converts for each Akida version, as tuples of quantizeml class names, and
turns one matched block into nsoc layers.  Registering two handlers for the same class name is an
error.  The handler modules register themselves when :mod:`nsoc.converter.handlers` is imported
(``nsoc.converter`` does), so this module imports none of them.
"""
from __future__ import annotations

from typing import ClassVar

from nsoc.errors import ConversionError

from .version import AkidaVersion

# Layer kinds cnn2snn knows but nsoc cannot convert yet (no IR layer type for them).
NOT_YET_SUPPORTED = {
    "QuantizedConv2DTranspose": "Conv2DTranspose",
    "QuantizedDepthwiseConv2DTranspose": "DepthwiseConv2DTranspose",
    "QuantizedBufferTempConv": "BufferTempConv",
    "QuantizedDepthwiseBufferTempConv": "DepthwiseBufferTempConv",
    "QuantizedStatefulRecurrent": "StatefulRecurrent",
    "QuantizedStatefulProjection": "StatefulRecurrent",
    "QuantizedExtractToken": "StatefulRecurrent",
    "QuantizedPicoPostProcessing": "PicoPostProcessing",
    "QuantizedActivation": "LUT activation",
}

_HANDLERS: dict[str, type[BlockHandler]] = {}


class BlockHandler:
    """Converts one block (list of Keras layers, pass-through layers removed) to nsoc layers.

    ``PATTERNS``/``INPUT_PATTERNS`` map an :class:`AkidaVersion` to the accepted class-name
    tuples; input patterns are tried for the first block of a model fed by 8-bit unsigned images.
    """

    MAIN: ClassVar[str] = ""
    PATTERNS: ClassVar[dict] = {}
    INPUT_PATTERNS: ClassVar[dict] = {}

    @classmethod
    def accepts(cls, pattern: tuple, version: AkidaVersion, as_input: bool = False) -> bool:
        table = cls.INPUT_PATTERNS if as_input else cls.PATTERNS
        return pattern in table.get(version, ())

    def convert(self, ctx, block: list, inbounds: list[str], as_input: bool) -> None:
        """Append the block's nsoc layer(s) to ``ctx`` (a ``converter.core.Context``)."""
        raise NotImplementedError


def register(handler: type[BlockHandler]) -> type[BlockHandler]:
    """Class decorator registering ``handler`` under ``handler.MAIN``."""
    key = handler.MAIN
    if not key:
        raise ConversionError(f"handler {handler.__name__} declares no MAIN layer class name")
    if key in _HANDLERS:
        raise ConversionError(
            f"a handler for '{key}' is already registered ({_HANDLERS[key].__name__}); "
            f"cannot register {handler.__name__}: unregister the first one")
    _HANDLERS[key] = handler
    return handler


def unregister(key: str) -> None:
    """Remove the handler registered for ``key`` (KeyError-free: raises ConversionError)."""
    if key not in _HANDLERS:
        raise ConversionError(f"no handler is registered for '{key}'")
    del _HANDLERS[key]


def get_handler(key: str) -> type[BlockHandler] | None:
    return _HANDLERS.get(key)


def handlers() -> dict[str, type[BlockHandler]]:
    return dict(_HANDLERS)


def supported_layers() -> list[str]:
    """quantizeml/keras class names the converter accepts (main, auxiliary and pass-through)."""
    from .passes import AUXILIARY, PASS_THROUGH
    return sorted(set(_HANDLERS) | AUXILIARY | PASS_THROUGH)


def patterns(version: AkidaVersion) -> list[str]:
    """Printable list of the block patterns accepted for ``version``."""
    out = []
    for handler in _HANDLERS.values():
        for table in (handler.INPUT_PATTERNS, handler.PATTERNS):
            for pat in table.get(version, ()):
                text = " > ".join(pat)
                if text not in out:
                    out.append(text)
    return out

"""Block handlers, one module per block kind; importing this package registers them all."""
from . import add, concatenate, conv, dense, depthwise, dequantizer, input_quantizer, separable_v1  # noqa: F401

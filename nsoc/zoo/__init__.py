"""The model zoo: BrainChip's model-zoo architectures built directly as nsoc models.

No TensorFlow: every entry is assembled from typed Akida layers (:func:`nsoc.make_layer`) for
Akida 1.0 (``"v1"``) and/or 2.0 (``"v2"``), with random weights valid for their bit widths and
output stages calibrated so that activations are neither all zero nor saturated
(:mod:`nsoc.zoo.builder`).  Their outputs are meaningless as predictions but their shapes, NP
mapping, and (with a sparsity profile, ``--sparsity``) timing and energy are those of the
published architectures.

    import nsoc.zoo
    model = nsoc.zoo.build("akidanet", target="v1", alpha=0.5, size=224)
    for entry in nsoc.zoo.entries():
        print(entry.name, entry.targets, entry.defaults())

Command line: ``nsoc zoo list``, ``nsoc zoo build akidanet --alpha 0.5 --size 224 --target v1
-o a.fbz``.
"""
from . import akidanet, dscnn, ecg, mobilenet, yolo  # noqa: F401  (register their entries)
from .registry import COMMON_PARAMS, ZooEntry, ZooParam, build, entries, get

__all__ = ["COMMON_PARAMS", "ZooEntry", "ZooParam", "build", "entries", "get"]

"""How a layer rule refuses a layer: :class:`Unmappable` (with Akida's message) and the way
Akida words and joins its messages (:func:`or_list`, :func:`raise_all`)."""
from __future__ import annotations


class Unmappable(Exception):
    """A layer cannot run on the device's NPs; the message is Akida's."""


class NeedsOwnSequence(Unmappable):
    """The layer runs on hardware only at the start of a sequence of its own (its inputs then
    come from memory): with hw_only an error, else a new hardware sequence."""


def or_list(values) -> str:
    """Akida's way of listing allowed values in a message: "1 or 2", "1, 2 or 4"."""
    *head, tail = map(str, values)
    return f"{', '.join(head)} or {tail}" if head else tail


def raise_all(messages: list[str]) -> None:
    """Akida reports a layer's refusals of one group together, joined by a space."""
    if messages:
        raise Unmappable(" ".join(messages))

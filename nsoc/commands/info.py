"""``nsoc info MODEL.fbz``: the layer table (types, shapes, bit widths, params, MACs, weights)."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("info", help="describe an nsoc model: layers, shapes, bits, MACs",
                              description="Print the layer table of an nsoc .fbz model.")
    p.add_argument("model", help="nsoc model file (.fbz)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..model import load
    print(load(args.model).summary())
    return 0

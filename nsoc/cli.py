"""The ``nsoc`` command line: ``nsoc <command> ...``.

Each command lives in its own module exposing ``register(subparsers)``, which adds an argparse
sub-parser whose ``func(args) -> int`` runs it.  Every :class:`nsoc.NsocError` and every input
problem prints one line ``nsoc <command>: error: ...`` and exits with status 2, without a
traceback.  Converter commands are registered from :mod:`nsoc.converter.commands`, which imports
TensorFlow only when one of them runs.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import NsocError

COMMAND_MODULES = (
    "nsoc.commands.run",
    "nsoc.commands.info",
    "nsoc.converter.commands",
    "nsoc.converter.legacy.commands",
    "nsoc.commands.report",
    "nsoc.commands.map",
    "nsoc.commands.devices",
    "nsoc.commands.zoo",
    "nsoc.commands.sweep",
    "nsoc.commands.bench",
    "nsoc.commands.interop",
    "nsoc.commands.warmup",
)

EXIT_USER_ERROR = 2


class UsageError(NsocError):
    """A command-line argument is wrong (bad path, unknown option value)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nsoc", description="Akida neuromorphic SoC simulator: convert, run, map, report.")
    from .version import __version__
    parser.add_argument("--version", action="version", version=f"nsoc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (NsocError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        message = str(exc)
        if isinstance(exc, OSError) and exc.filename is not None:
            message = f"{exc.strerror}: {exc.filename}"
        print(f"nsoc {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # e.g. `nsoc info m.fbz | head`: the reader left, not an error
        import os
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"nsoc {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""``nsoc warmup``: compile (or load) nsoc's numba kernels ahead of the first run."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "warmup", help="compile nsoc's kernels once, ahead of the first run",
        description="Run small models covering every layer type through the engine so numba "
                    "compiles and caches every kernel (about a minute on a fresh install; a "
                    "second or so once cached).")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..warmup import kernel_cache_is_cold, warmup
    cold = kernel_cache_is_cold()
    seconds = warmup(progress=not args.quiet)
    state = "compiled" if cold else "loaded from the cache"
    print(f"nsoc kernels {state} in {seconds:.1f} s")
    return 0

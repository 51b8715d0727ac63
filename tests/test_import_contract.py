"""The import contract (README "Layout", CONTRIBUTING.md): arrows point one way.

* ``commands -> nsoc -> kernels`` and ``converter -> nsoc``;
* nothing in ``nsoc`` (outside ``nsoc.converter``) imports the converter, TensorFlow, Keras or
  quantizeml, not even inside a function;
* ``nsoc.kernels`` imports nothing of ``nsoc`` outside itself;
* ``nsoc.hardware`` never imports ``nsoc.report``, ``nsoc.commands`` or ``nsoc.cli``;
* the library (everything but ``nsoc.commands`` and ``nsoc.cli``) never imports the command line.

Every ``import`` statement of every source file is read with :mod:`ast` (module level and inside
functions), relative imports resolved.  A subprocess then checks the runtime claim: loading a
model, running it and mapping it leaves TensorFlow, quantizeml and the converter out of
``sys.modules``.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# source folder -> installed package name (setup.cfg package_dir)
PACKAGE_ROOTS = {"nsoc": "nsoc", "converter": "nsoc.converter", "kernels": "nsoc.kernels"}
GENERATED = ROOT / "nsoc" / "fbz" / "generated"
HEAVY = ("tensorflow", "tf_keras", "keras", "quantizeml", "cnn2snn")


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def module_name(path: Path) -> tuple[str, bool]:
    """(dotted installed name, is a package ``__init__``) of a source file under ROOT."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    parts[0] = PACKAGE_ROOTS[parts[0]]
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join(parts), is_pkg


def imported_names(source: str, module: str, is_pkg: bool) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``.

    ``from a import b`` yields both ``a`` and ``a.b`` (``b`` may be a submodule).
    """
    package = module if is_pkg else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((node.lineno, target))
            out += [(node.lineno, f"{target}.{alias.name}") for alias in node.names
                    if alias.name != "*"]
    return out


def violations(module: str, imports: list[tuple[int, str]]) -> list[str]:
    """The contract rules broken by ``module`` importing ``imports``."""
    bad = []
    for line, name in imports:
        why = None
        if _within(module, "nsoc.kernels"):
            if _within(name, "nsoc") and not _within(name, "nsoc.kernels"):
                why = "kernels import nothing of nsoc"
        elif _within(module, "nsoc.converter"):
            continue  # converter -> nsoc, TensorFlow, quantizeml: all allowed
        elif _within(module, "nsoc"):
            if _within(name, "nsoc.converter") or any(_within(name, h) for h in HEAVY):
                why = "nsoc never imports the converter, TensorFlow, Keras or quantizeml"
            elif (not _within(module, "nsoc.commands") and module != "nsoc.cli"
                  and (_within(name, "nsoc.commands") or name == "nsoc.cli")):
                why = "the library never imports the command line (commands -> nsoc)"
            elif _within(module, "nsoc.hardware") and (
                    _within(name, "nsoc.report") or _within(name, "nsoc.commands")):
                why = "nsoc.hardware never imports nsoc.report or nsoc.commands"
        if why:
            bad.append(f"{module}:{line} imports {name}: {why}")
    return bad


def source_files() -> list[Path]:
    files = []
    for folder in PACKAGE_ROOTS:
        files += [p for p in sorted((ROOT / folder).rglob("*.py")) if GENERATED not in p.parents]
    return files


def test_every_source_file_keeps_the_arrows():
    files = source_files()
    modules = {module_name(p)[0] for p in files}
    # the walk really sees the tree (a wrong ROOT would make the test pass vacuously)
    assert {"nsoc.model", "nsoc.engine", "nsoc.kernels.conv", "nsoc.converter.core",
            "nsoc.hardware.device", "nsoc.commands.run"} <= modules
    bad = []
    for path in files:
        module, is_pkg = module_name(path)
        bad += violations(module, imported_names(path.read_text(), module, is_pkg))
    assert not bad, "import contract broken:\n" + "\n".join(bad)


@pytest.mark.parametrize("module, source, rule", [
    ("nsoc.engine", "def f():\n    import tensorflow as tf\n", "TensorFlow"),
    ("nsoc.model", "from .converter import convert\n", "converter"),
    ("nsoc.hardware.energy", "from ..report import text\n", "nsoc.report"),
    ("nsoc.hardware.mapping.core", "from ...commands import map\n", "nsoc.commands"),
    ("nsoc.kernels.conv", "from ..layers import Layer\n", "kernels import nothing"),
    ("nsoc.kernels.conv", "import nsoc\n", "kernels import nothing"),
    ("nsoc.pipeline", "from nsoc.commands.run import main\n", "command line"),
])
def test_checker_catches_each_rule(module, source, rule):
    bad = violations(module, imported_names(source, module, False))
    assert bad and rule in bad[0], bad


def test_checker_allows_the_arrows():
    ok = [("nsoc.commands.run", "from ..model import load\nfrom ..report import text\n"),
          ("nsoc.converter.core", "import tensorflow\nfrom nsoc.layers import make_layer\n"),
          ("nsoc.engine", "from .kernels import conv\n"),
          ("nsoc.kernels.conv", "from ._util import njit\nimport numpy\n")]
    for module, source in ok:
        assert violations(module, imported_names(source, module, False)) == []


RUNTIME_SCRIPT = r"""
import json, sys
import numpy as np


def loaded(prefixes):
    return sorted(m for m in sys.modules if m.split(".")[0] in prefixes
                  or any(m == p or m.startswith(p + ".") for p in prefixes))


HEAVY = ("tensorflow", "tf_keras", "keras", "quantizeml", "cnn2snn", "nsoc.converter")
import nsoc
model = nsoc.load(sys.argv[1])
x = np.load(sys.argv[2])[:2]
model.forward(x)
model.forward(x, outputs="all")
model.predict(x)
model.summary()
library = loaded(HEAVY)
from nsoc.cli import main
code = main(["info", sys.argv[1]])
cli = loaded(HEAVY[:-1])
print(json.dumps({"code": code, "library": library, "cli": cli}))
"""


def test_runtime_never_loads_tensorflow_or_the_converter():
    fixtures = ROOT / "fixtures"
    proc = subprocess.run(
        [sys.executable, "-c", RUNTIME_SCRIPT, str(fixtures / "kws_dscnn.fbz"),
         str(fixtures / "kws_inputs.npy")],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    # load, forward, predict, summary: no TensorFlow, quantizeml nor converter module at all
    assert result["library"] == [], result["library"]
    # the CLI registers the converter's commands, which import TensorFlow only when they run
    assert result["cli"] == [], result["cli"]


# ----- no import circles ---------------------------------------------------------------------
# Function-level imports from a value class's thin conveniences to the services that compute on
# it (``Model.forward`` -> engine, ``Model.simulate`` -> pipeline, ``Report.write`` -> writers)
# are allowed: the service never needs the convenience.  Every other edge, module level or
# inside a function, counts.
CONVENIENCE_MODULES = {"nsoc.model", "nsoc.report.core"}


def import_edges(source: str, module: str, is_pkg: bool, modules: set[str],
                 top_level_only: bool = False) -> set[str]:
    """The nsoc modules ``source`` imports: ``from pkg import sub`` counts as importing the
    submodule ``pkg.sub`` (not ``pkg``), ``from pkg import name`` as importing ``pkg``."""
    package = module if is_pkg else module.rpartition(".")[0]
    tree = ast.parse(source)
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    edges = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name:
                    edges.add(name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in modules:
                    edges.add(sub)
                elif target in modules:
                    edges.add(target)
    edges.discard(module)
    return edges


def import_graph() -> dict[str, set[str]]:
    """{module: nsoc modules it imports} over the source tree."""
    files = source_files()
    modules = {module_name(p)[0] for p in files}
    graph = {}
    for path in files:
        module, is_pkg = module_name(path)
        graph[module] = import_edges(path.read_text(), module, is_pkg, modules,
                                     top_level_only=module in CONVENIENCE_MODULES)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (as a list of modules), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycles():
    graph = import_graph()
    assert "nsoc.fbz" in graph and "nsoc.model" in graph["nsoc"]
    assert "nsoc.converter.registry" in graph["nsoc.converter.handlers.conv"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_import_edges_resolve_submodules_and_names():
    modules = {"nsoc", "nsoc.fbz", "nsoc.fbz.codec", "nsoc.model", "nsoc.errors"}
    src = ("from . import fbz\nfrom .errors import X\nimport nsoc.fbz.codec\n"
           "def f():\n    from .fbz import codec\n")
    assert import_edges(src, "nsoc.model", False, modules) == {"nsoc.fbz", "nsoc.errors",
                                                               "nsoc.fbz.codec"}
    assert import_edges(src, "nsoc.model", False, modules, top_level_only=True) == {
        "nsoc.fbz", "nsoc.errors", "nsoc.fbz.codec"}
    assert import_edges("from .. import __version__\n", "nsoc.fbz", True, modules) == {"nsoc"}


def test_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None

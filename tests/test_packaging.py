"""setup.cfg ships every package of the source tree (``pip install .`` is the README's set-up)."""
import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_ROOTS = {"nsoc": "nsoc", "converter": "nsoc.converter", "kernels": "nsoc.kernels"}


def test_every_package_is_listed_in_setup_cfg():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    found = set()
    for folder, name in PACKAGE_ROOTS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name,) + rel))
    assert "nsoc.kernels" in found and "nsoc.layers" in found
    assert found - listed == set(), f"add to setup.cfg [options] packages: {found - listed}"

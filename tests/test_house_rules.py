"""House rules the import contract cannot see: text tables live in nsoc/report, argparse in
nsoc/commands (CONTRIBUTING.md)."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# a padded column: str.ljust/rjust/center, or a width in a format spec ({x:<12}, {x:>8,.1f})
TABLE = re.compile(r"\.(ljust|rjust|center)\(|\{[^{}\n]*:[^{}\n]?[<>^]\d+[^{}\n]*\}")
ARGPARSE = re.compile(r"\bimport argparse\b|\.add_argument\(|\.add_parser\(")


def _library_files():
    return sorted(p for p in (ROOT / "nsoc").rglob("*.py") if "generated" not in p.parts)


def offenders(pattern, allowed_dirs):
    bad = []
    for path in _library_files():
        rel = path.relative_to(ROOT).as_posix()
        if any(rel.startswith(d) for d in allowed_dirs):
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                bad.append(f"{rel}:{n}: {line.strip()}")
    return bad


def test_text_tables_only_in_report():
    bad = offenders(TABLE, ("nsoc/report/",))
    assert not bad, "format text tables in nsoc/report/:\n" + "\n".join(bad)


def test_argparse_only_in_commands():
    bad = offenders(ARGPARSE, ("nsoc/commands/", "nsoc/cli.py"))
    assert not bad, "argparse belongs in nsoc/commands/:\n" + "\n".join(bad)


@pytest.mark.parametrize("line, hit", [
    ('    lines.append(f"{name:<17}{d.ip:<4}")', True),
    ('    s = f"{value:>14,.3f} uJ"', True),
    ('    s = name.ljust(10)', True),
    ('    s = f"{value:,.3f} uJ ({share:.1%})"', False),
    ('    d = {"a": 1}', False),
])
def test_table_pattern(line, hit):
    assert bool(TABLE.search(line)) == hit

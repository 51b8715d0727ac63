"""The results folder of a sweep: ``results.jsonl`` (the log and cache), ``results.csv``,
``sweep.json`` (the spec it holds) and ``summary.html``.

Rows are appended and flushed to ``results.jsonl`` and ``results.csv`` as they finish, so a
sweep stopped at any point keeps everything it finished; a restarted sweep reads the log and
redoes only the configurations whose content-hash key has no row (a row cut short by a crash is
ignored, a row with status ``failed`` (an internal error or a lost worker, not a property of the
configuration) is redone).  When the sweep completes both files are rewritten in configuration
order.
"""
from __future__ import annotations

import csv
import io
import json
import os

from ..errors import InputError
from ..fileio import write_atomic
from .evaluate import METRICS

JSONL, CSV, SPEC, HTML = "results.jsonl", "results.csv", "sweep.json", "summary.html"
LOCK = ".lock"  # held by the sweep writing the folder: "<host> <pid>"
#: Leading columns of results.csv (the configuration), then timing./energy. parameters, metrics.
CONFIG_COLUMNS = ("model", "input", "device", "mode", "clock_mode", "frames")
TAIL_COLUMNS = ("status", "error", "seconds", "key", "model_hash", "nsoc_version")
REDO_STATUS = "failed"


def read_rows(path: str) -> dict:
    """{key: row} of a results.jsonl (later rows win; unreadable lines are skipped)."""
    rows: dict = {}
    if not os.path.isfile(path):
        return rows
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line cut short by an interruption
            if isinstance(row, dict) and "key" in row:
                rows[row["key"]] = row
    return rows


def csv_columns(timing_keys, energy_keys) -> list[str]:
    return (list(CONFIG_COLUMNS) + [f"timing.{k}" for k in timing_keys]
            + [f"energy.{k}" for k in energy_keys] + list(METRICS) + list(TAIL_COLUMNS))


def csv_row(row: dict, columns: list[str]) -> list:
    out = []
    for col in columns:
        group, _, name = col.partition(".")
        value = row.get(group, {}).get(name) if name and group in ("timing", "energy") else \
            row.get(col)
        out.append("" if value is None else value)
    return out


def check_results_dir(out_dir: str, spec_doc: dict, force: bool) -> None:
    """Refuse (InputError) a results folder that is a file or holds another sweep's results
    (unless ``force``): checked before any work."""
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise InputError(f"results path {out_dir} is a file; pass a folder with -o")
    spec_path = os.path.join(out_dir, SPEC)
    if force:
        return
    if not os.path.isfile(spec_path):
        if os.path.isfile(os.path.join(out_dir, JSONL)):
            raise InputError(f"{out_dir} holds results of an unknown sweep; pass --force to "
                             f"reuse it or choose another -o")
        return
    try:
        with open(spec_path, encoding="utf-8") as f:
            old = json.load(f).get("spec")
    except (OSError, ValueError):
        old = None
    if old != spec_doc:
        raise InputError(f"{out_dir} holds the results of another sweep spec; pass --force "
                         f"to replace them (matching rows are reused) or choose another -o")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire_lock(out_dir: str) -> str:
    """Create ``out_dir/.lock`` for this process; InputError when another live sweep on this
    host holds it (a lock left by a dead process is taken over)."""
    import socket
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, LOCK)
    me = f"{socket.gethostname()} {os.getpid()}"
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                with open(path, encoding="utf-8") as f:
                    host, _, pid = f.read().strip().partition(" ")
            except OSError:
                host, pid = "", ""
            if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
                os.unlink(path)  # left by a sweep that was killed
                continue
            raise InputError(f"another sweep ({host} pid {pid}) is writing {out_dir}; wait for "
                             f"it, or delete {path} if it is gone, or choose another -o") \
                from None
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(me)
        return path
    raise InputError(f"cannot lock {out_dir}; delete {path} or choose another -o")


def release_lock(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class ResultStore:
    """The results folder of one sweep (see the module docstring)."""

    def __init__(self, out_dir: str, spec_doc: dict, keys: list[str], timing_keys, energy_keys,
                 force: bool = False):
        self.dir = os.fspath(out_dir)
        check_results_dir(self.dir, spec_doc, force)
        self.keys = list(keys)
        self.columns = csv_columns(timing_keys, energy_keys)
        self.spec_doc = spec_doc
        os.makedirs(self.dir, exist_ok=True)
        wanted = set(self.keys)
        self.rows = {k: r for k, r in read_rows(self.path(JSONL)).items()
                     if k in wanted and r.get("status") != REDO_STATUS}
        self._rewrite()  # drop foreign/truncated lines before appending
        self._jsonl = open(self.path(JSONL), "a", encoding="utf-8")
        self._csv = open(self.path(CSV), "a", encoding="utf-8", newline="")
        self._writer = csv.writer(self._csv, lineterminator="\n")

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    @property
    def done(self) -> set:
        return set(self.rows)

    def add(self, row: dict) -> None:
        """Record a finished row: append and flush it to both files."""
        if row.get("status") != REDO_STATUS:
            self.rows[row["key"]] = row
        self._jsonl.write(json.dumps(row, sort_keys=True) + "\n")
        self._jsonl.flush()
        os.fsync(self._jsonl.fileno())
        self._writer.writerow(csv_row(row, self.columns))
        self._csv.flush()

    def ordered(self) -> list[dict]:
        """The rows of this sweep in configuration order (missing ones left out)."""
        return [self.rows[k] for k in self.keys if k in self.rows]

    def _rewrite(self) -> None:
        rows = self.ordered()
        write_atomic(self.path(JSONL), "".join(json.dumps(r, sort_keys=True) + "\n"
                                                for r in rows))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.columns)
        for r in rows:
            w.writerow(csv_row(r, self.columns))
        write_atomic(self.path(CSV), buf.getvalue())
        write_atomic(self.path(SPEC), json.dumps(
            {"spec": self.spec_doc, "configurations": len(self.keys)}, indent=1) + "\n")

    def close(self, complete: bool) -> None:
        """Close the files; a complete sweep is rewritten in configuration order."""
        for f in (self._jsonl, self._csv):
            if not f.closed:
                f.close()
        if complete:
            self._rewrite()


__all__ = ["ResultStore", "check_results_dir", "acquire_lock", "release_lock", "read_rows",
           "csv_columns", "JSONL", "CSV", "HTML", "SPEC", "LOCK"]

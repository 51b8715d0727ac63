"""Writing and reading report files: ``report.json``, ``layers.csv``, ``report.html``."""
from __future__ import annotations

import csv
import io
import json
import os

from ..fileio import write_atomic
from .schema import ReportError, validate_report

JSON_NAME, CSV_NAME, HTML_NAME = "report.json", "layers.csv", "report.html"

_CSV_TIMING = ("name", "type", "np_types", "n_nps", "sequence", "pass", "start_cycle",
               "end_cycle", "busy_cycles", "cut_cycles", "stall_cycles", "idle_cycles", "events_in",
               "events_out", "sparsity", "energy_uj")


def layers_csv(data: dict) -> str:
    """One row per layer: timing columns, energy (uJ per frame) by action, action counts."""
    layers = data["layers"]
    e_keys = list(data["energy_breakdown_uj"])
    e_keys = [k for k in e_keys if k != "static"]
    a_keys = list(layers[0]["actions"]) if layers else []
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(_CSV_TIMING) + [f"energy_{k}_uj" for k in e_keys] + a_keys)
    for lay in layers:
        row = [" ".join(lay.get(k, [])) if k == "np_types" else lay.get(k, "")
               for k in _CSV_TIMING]
        row += [lay["energy_breakdown_uj"].get(k, 0.0) for k in e_keys]
        row += [lay["actions"].get(k, 0) for k in a_keys]
        w.writerow(row)
    return buf.getvalue()


def write_report(report, out_dir, html: bool = True) -> dict:
    """Validate ``report`` (a Report or its dict) and write ``out_dir/report.json``,
    ``layers.csv`` and (``html``) ``report.html``, creating ``out_dir``; returns the paths."""
    data = report.data if hasattr(report, "data") else report
    validate_report(data)
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ReportError(f"report directory {out_dir} is a file; pass a directory path")
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create report directory {out_dir}: {exc.strerror}") from None
    paths = {"json": os.path.join(out_dir, JSON_NAME), "csv": os.path.join(out_dir, CSV_NAME)}
    write_atomic(paths["json"], json.dumps(data, indent=1) + "\n")
    write_atomic(paths["csv"], layers_csv(data))
    if html:
        from .html import report_html
        paths["html"] = os.path.join(out_dir, HTML_NAME)
        write_atomic(paths["html"], report_html(data))
    return paths


def load_report(path):
    """Read and validate a report: a ``report.json`` path or a report directory."""
    from .core import Report
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, JSON_NAME)
    if not os.path.isfile(path):
        raise ReportError(f"no report at {path}; pass a report.json file or the directory "
                          f"written by `nsoc run --report DIR`")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read {path} as JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != "nsoc-report":
        raise ReportError(f"{path} is not an nsoc report (no \"schema\": \"nsoc-report\")")
    return Report.from_dict(data)

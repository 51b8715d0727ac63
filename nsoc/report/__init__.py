"""Presentation: reports of a cycle-level run (``nsoc run --report DIR``) and every text table.

:class:`Report` is the last value of :mod:`nsoc.pipeline` (``nsoc.pipeline.build_report`` runs
the stages); ``write_report(report, DIR)`` writes ``report.json`` (validated against
``report.schema.json``), ``layers.csv`` and ``report.html``; ``compare_reports(a, b)`` gives the
deltas that ``nsoc report A B`` prints.
"""
from .compare import compare_reports, format_compare
from .core import Report, report_dict
from .schema import SCHEMA_VERSION, ReportError, load_schema, schema_errors, validate_report
from .text import format_summary
from .writers import layers_csv, load_report, write_report

__all__ = ["Report", "report_dict", "write_report",
           "load_report", "layers_csv", "compare_reports", "format_compare", "format_summary",
           "validate_report", "schema_errors", "load_schema", "ReportError", "SCHEMA_VERSION"]

"""Design-space sweeps and dataset-scale runs, serially or on Dask.

``nsoc sweep SPEC.toml -o RESULTS`` (:func:`load_spec`, :func:`run_sweep`) runs the cross
product of models, inputs, devices, mapping modes, clock modes, parameter grids and frame counts
and writes ``results.csv``, ``results.jsonl`` and ``summary.html``; results are cached by
content hash so an interrupted sweep resumes.  ``nsoc bench`` runs the standard suite
(:func:`bench_spec`).  :mod:`nsoc.sweep.dataset` shards ``nsoc run`` over a large input.

Dask (``pip install 'nsoc[distributed]'``) is imported only when a parallel run starts.
"""
from .runner import SweepResult, make_tasks, run_sweep
from .spec import Config, SpecError, SweepSpec, expand, load_spec, spec_from_dict

__all__ = ["load_spec", "spec_from_dict", "expand", "run_sweep", "make_tasks", "SweepSpec",
           "Config", "SweepResult", "SpecError"]

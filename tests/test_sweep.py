"""`nsoc sweep`: spec parsing, the cross product, error rows, the result cache and restarts,
summary.html (in-process; the Dask runs are in test_sweep_dask.py)."""
import csv
import json
import os

import pytest
from sweep_helpers import KWS, KWS_X, KWS_Y, MNIST_V1, without_seconds

from nsoc.cli import main
from nsoc.report.sweep_html import PLOT_IDS, pareto_front
from nsoc.sweep import SpecError, load_spec, run_sweep, spec_from_dict
from nsoc.sweep import evaluate as ev
from nsoc.sweep.spec import parse_device

SPEC = f"""
name = "test"
frames = [2]
devices = ["TwoNodesIPv2", "custom:12,4", "AKD1000"]
modes = ["AllNps", "Minimal"]
include_incompatible = true

[[models]]
file = "{KWS}"
[[models]]
file = "{MNIST_V1}"

[[inputs]]
file = "{KWS_X}"
[[inputs]]
random = true
seed = 1

[timing]
router_latency_cycles = [2, 3]
"""


@pytest.fixture()
def spec_file(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(SPEC)
    return str(path)


def _rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_spec_cross_product_and_pairing(spec_file):
    spec = load_spec(spec_file)
    assert [m.label for m in spec.models] == ["kws_dscnn", "mnist_cnn_v1"]
    assert [d.label for d in spec.devices] == ["TwoNodesIPv2", "custom:12,4", "AKD1000"]
    assert spec.timing == [{"router_latency_cycles": 2}, {"router_latency_cycles": 3}]
    from nsoc.sweep import make_tasks
    ts = make_tasks(spec)
    # kws: 2 inputs x 3 devices x 2 modes x 2 timing; mnist: only the random input fits
    assert len(ts.tasks) == 2 * 3 * 2 * 2 + 1 * 3 * 2 * 2
    assert ts.skipped == {"frames of another shape": 12}
    assert len({t["key"] for t in ts.tasks}) == len(ts.tasks)


@pytest.mark.parametrize("doc, words", [
    ({"devices": ["AKD1000"]}, "[[models]]"),
    ({"models": [{"file": KWS}]}, "devices"),
    ({"models": [{"file": KWS}], "devices": ["NoSuchChip"]}, "unknown device"),
    ({"models": [{"file": KWS}], "devices": ["custom:x"]}, "custom:CNP,FNP"),
    ({"models": [{"file": KWS}], "devices": ["AKD1000"], "modes": ["Fast"]}, "unknown modes"),
    ({"models": [{"file": KWS}], "devices": ["AKD1000"], "timing": {"warp": 2}},
     "unknown timing parameter"),
    ({"models": [{"file": KWS}], "devices": ["AKD1000"], "frames": [0]}, "frames"),
    ({"models": [{"file": KWS}], "devices": ["AKD1000"], "colour": 1}, "unknown key"),
    ({"models": [{"file": "/nonexistent.fbz"}], "devices": ["AKD1000"]}, "not found"),
])
def test_spec_errors_name_the_fix(doc, words):
    with pytest.raises(SpecError, match=None) as info:
        spec_from_dict(doc)
    assert words in str(info.value)


def test_custom_device_syntax():
    assert parse_device("custom:60,4").custom == (60, 4, 0, None)
    assert parse_device("custom:8,2,4,v1").custom == (8, 2, 4, "v1")
    assert parse_device("akd1000").name == "AKD1000"


def test_sweep_rows_errors_csv_and_html(spec_file, tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["sweep", spec_file, "-o", str(out), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "configurations: 36 (36 computed, 0 from the cache)" in printed
    rows = _rows(out / "results.jsonl")
    assert len(rows) == 36
    errors = [r for r in rows if r["status"] == "error"]
    # the version-mismatched pairs (kept by include_incompatible) are rows with the mapper's error
    assert errors and all("IP version" in r["error"] and r["latency_us"] is None
                          for r in errors)
    assert {(r["model"], r["device"]) for r in errors} == {
        ("kws_dscnn", "AKD1000"), ("mnist_cnn_v1", "TwoNodesIPv2")}
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(r["latency_us"] > 0 and r["fps"] > 0 and r["energy_uj"] > 0 and r["nps"] > 0
               and r["passes"] >= 1 for r in ok)
    # a larger router latency never makes the first frame faster
    by = {(r["model"], r["input"], r["device"], r["mode"], r["timing"]["router_latency_cycles"]):
          r for r in ok}
    for (m, i, d, mode, lat), r in by.items():
        if lat == 3:
            assert r["latency_cycles"] >= by[(m, i, d, mode, 2)]["latency_cycles"]
    with open(out / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 36
    for col in ("model", "device", "mode", "latency_us", "fps", "energy_uj", "board_mw", "nps",
                "passes", "error", "timing.router_latency_cycles"):
        assert col in table[0]
    assert [r["key"] for r in table] == [r["key"] for r in rows]
    page = (out / "summary.html").read_text()
    for pid in PLOT_IDS:
        assert f"id='{pid}'" in page
    assert "IP version" in page


def test_restart_recomputes_nothing_finished(spec_file, tmp_path):
    spec = load_spec(spec_file)
    out = str(tmp_path / "res")
    first = run_sweep(spec, out, workers=1, limit=5, log=None)
    assert first.computed == 5 and len(first.rows) == 5
    assert not os.path.exists(os.path.join(out, "summary.html"))  # incomplete: no summary yet
    done = {r["key"]: r for r in _rows(os.path.join(out, "results.jsonl"))}
    with open(os.path.join(out, "results.jsonl"), "a") as f:
        f.write('{"key": "cut sho')  # a line cut short by a crash
    second = run_sweep(spec, out, workers=1, log=None)
    assert second.cached == 5 and second.computed == 31 and len(second.rows) == 36
    after = {r["key"]: r for r in second.rows}
    for key, row in done.items():
        assert after[key] == row  # the finished rows were kept, not recomputed
    third = run_sweep(spec, out, workers=1, log=None)
    assert third.computed == 0 and third.cached == 36
    assert without_seconds(third.rows) == without_seconds(second.rows)


def test_model_loaded_once_per_process(spec_file, tmp_path):
    ev._MODELS.clear()
    ev._FRAMES.clear()
    before = dict(ev.STATS)
    result = run_sweep(load_spec(spec_file), str(tmp_path / "r"), workers=1, log=None)
    assert result.computed == 36
    assert ev.STATS["model_loads"] - before["model_loads"] == 2
    # one functional pass per (model, input, frames): kws x 2 inputs + mnist x 1
    assert ev.STATS["forward_runs"] - before["forward_runs"] == 3


def test_other_spec_needs_force(spec_file, tmp_path, capsys):
    out = str(tmp_path / "res")
    run_sweep(load_spec(spec_file), out, workers=1, limit=2, log=None)
    other = tmp_path / "other.toml"
    other.write_text(SPEC.replace('frames = [2]', 'frames = [3]'))
    assert main(["sweep", str(other), "-o", out, "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--force" in err[0]


def test_pareto_front():
    pts = [(1, 5), (2, 3), (3, 4), (4, 1), (2, 6), (5, 1)]
    assert pareto_front(pts) == [0, 1, 3]


def test_dask_stays_out_of_import_nsoc():
    import subprocess
    import sys
    code = ("import sys, nsoc, nsoc.sweep, nsoc.cli; nsoc.cli.build_parser(); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]; "
            "assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_without_dask_runs_serially_with_a_note(spec_file, tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    notes = []
    res = run_sweep(load_spec(spec_file), str(tmp_path / "r"), workers=2, log=notes.append,
                    limit=3)
    assert res.engine == "in-process" and res.computed == 3
    assert notes and "pip install 'nsoc[distributed]'" in notes[0]


def test_sharded_run_in_process_with_labels(tmp_path, capsys):
    import numpy as np
    labels = KWS_Y
    ref, out = tmp_path / "ref.npy", tmp_path / "sharded.npy"
    assert main(["run", KWS, "--input", KWS_X, "-o", str(ref)]) == 0
    assert main(["run", KWS, "--input", KWS_X, "-o", str(out), "--workers", "1", "--labels",
                 labels, "--shard-size", "100"]) == 0
    printed = capsys.readouterr().out
    assert "3 shards" in printed and "top-5" in printed
    a, b = np.load(ref), np.load(out)
    assert a.tobytes() == b.tobytes() and a.shape == b.shape and a.dtype == b.dtype
    top1 = np.mean(a.reshape(len(a), -1).argmax(1) == np.load(labels))
    assert f"top-1 {100 * top1:.2f} %" in printed
    # an existing output is kept without --force; bad labels are refused before the work
    assert main(["run", KWS, "--input", KWS_X, "-o", str(out), "--workers", "1"]) == 2
    bad = tmp_path / "bad_labels.npy"
    np.save(bad, np.zeros(3, np.int64))
    assert main(["run", KWS, "--input", KWS_X, "-o", str(tmp_path / "o.npy"), "--labels",
                 str(bad)]) == 2
    assert "256 integer class indices" in capsys.readouterr().err
    assert not (tmp_path / "o.npy").exists()


def test_topk_hits():
    import numpy as np

    from nsoc.sweep.dataset import topk_hits
    y = np.array([[0.1, 0.9, 0.0, 0.2, 0.3, 0.4], [0.5, 0.1, 0.2, 0.3, 0.4, 0.0]])
    assert topk_hits(y, np.array([1, 5])) == (1, 1)
    assert topk_hits(y, np.array([4, 0])) == (1, 2)


ZOO_SPEC = """
frames = [1]
devices = ["TwoNodesIPv1", "TwoNodesIPv2"]
modes = ["Minimal"]
[[models]]
zoo = "akidanet_vww"
size = 48
target = ["v1", "v2"]
"""


def test_zoo_models_built_once_and_cached(tmp_path, monkeypatch):
    from nsoc.sweep import sources
    spec_path = tmp_path / "zoo.toml"
    spec_path.write_text(ZOO_SPEC)
    spec = load_spec(str(spec_path))
    assert [m.label for m in spec.models] == ["akidanet_vww[size=48,target=v1]",
                                              "akidanet_vww[size=48,target=v2]"]
    out = str(tmp_path / "res")
    first = run_sweep(spec, out, workers=1, log=None)
    assert first.computed == 2 and first.errors == 0  # each target on its version's device
    assert {(r["model"], r["device"]) for r in first.rows} == {
        ("akidanet_vww[size=48,target=v1]", "TwoNodesIPv1"),
        ("akidanet_vww[size=48,target=v2]", "TwoNodesIPv2")}
    assert len(os.listdir(os.path.join(out, "models"))) == 2

    def no_build(*args):
        raise AssertionError("a cached zoo model was built again")
    monkeypatch.setattr(sources, "zoo_bytes", no_build)
    again = run_sweep(spec, out, workers=1, log=None)
    assert again.cached == 2 and again.computed == 0 and again.engine == "none"
    bad = tmp_path / "bad.toml"
    bad.write_text(ZOO_SPEC.replace("size = 48", "width = 3"))
    with pytest.raises(Exception, match="no parameter"):
        run_sweep(load_spec(str(bad)), str(tmp_path / "bad"), workers=1, log=None)


def test_bench_prints_the_comparison_table(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["bench", "-o", str(out), "--models", "akidanet_vww", "--devices",
                 "TwoNodesIPv1,TwoNodesIPv2", "--frames", "1", "--workers", "1"]) == 0
    printed = capsys.readouterr().out.splitlines()
    header = printed[0].split()
    assert header[:4] == ["model", "device", "mode", "latency"]
    for word in ("fps", "energy", "power"):
        assert word in printed[0]
    body = [line for line in printed[2:] if line.startswith("akidanet_vww")]
    assert len(body) == 6  # 2 targets x 1 device each x 3 modes
    with open(out / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 6 and {r["mode"] for r in table} == {"AllNps", "Minimal", "HwPr"}
    assert (out / "summary.html").exists()
    assert main(["bench", "-o", str(tmp_path / "b2"), "--models", "nosuch"]) == 2


def test_sparsity_profiles_in_a_sweep(tmp_path):
    import nsoc
    kws = nsoc.load(KWS)
    layer = [lay.name for lay in kws.layers if lay.TYPE == "Conv2D"][0]
    (tmp_path / "profile.json").write_text(json.dumps({layer: 0.95}))
    spec_path = tmp_path / "sp.toml"
    spec_path.write_text(f"""
frames = [2]
devices = ["TwoNodesIPv2", "AKD1000"]
[[models]]
file = "{KWS}"
[[models]]
file = "{MNIST_V1}"
[[inputs]]
random = true
sparsity = [0.5, 0.9, "profile.json"]
""")
    spec = load_spec(str(spec_path))
    assert [i.label for i in spec.inputs] == ["random0@sparsity=0.5", "random0@sparsity=0.9",
                                              "random0@sparsity=profile.json"]
    res = run_sweep(spec, str(tmp_path / "r"), workers=1, log=None)
    rows = {(r["model"], r["input"]): r for r in res.rows}
    k5, k9 = rows[("kws_dscnn", "random0@sparsity=0.5")], rows[("kws_dscnn",
                                                                "random0@sparsity=0.9")]
    assert k5["status"] == k9["status"] == "ok"
    assert k9["energy_uj"] < k5["energy_uj"] and k9["latency_cycles"] <= k5["latency_cycles"]
    assert rows[("kws_dscnn", "random0@sparsity=profile.json")]["status"] == "ok"
    # the per-layer profile names a kws layer: on the v1 model it is an error row
    bad = rows[("mnist_cnn_v1", "random0@sparsity=profile.json")]
    assert bad["status"] == "error" and layer in bad["error"]
    assert rows[("mnist_cnn_v1", "random0@sparsity=0.9")]["status"] == "ok"


def test_sharded_report_per_frame_figures_do_not_depend_on_shards(tmp_path, capsys):
    import numpy as np
    x = np.load(KWS_X)[:12]
    inp = tmp_path / "x.npy"
    np.save(inp, x)
    csvs = []
    for shard in ("5", "12"):
        rep = tmp_path / f"rep{shard}"
        assert main(["run", KWS, "--input", str(inp), "-o", str(tmp_path / f"o{shard}.npy"),
                     "--workers", "1", "--shard-size", shard, "--device", "TwoNodesIPv2",
                     "--report", str(rep), "--sparsity", "0.8", "--timing-frames", "2"]) == 0
        csvs.append((rep / "frames.csv").read_text())
        doc = json.loads((rep / "dataset.json").read_text())
        assert doc["samples"] == 12 and set(doc["frames"]) == {"latency_us", "energy_uj"}
        assert (rep / "report.json").exists()
    assert csvs[0] == csvs[1] and len(csvs[0].splitlines()) == 13
    assert "p99" in capsys.readouterr().out


def test_internal_failure_is_a_failed_row_redone_on_restart(spec_file, tmp_path, monkeypatch):
    real = ev.simulate_config

    def flaky(model, mapping, x, acts, cfg):
        if cfg["mode"] == "Minimal":
            raise RuntimeError("simulated bug")
        return real(model, mapping, x, acts, cfg)
    monkeypatch.setattr(ev, "simulate_config", flaky)
    spec = load_spec(spec_file)
    out = str(tmp_path / "r")
    first = run_sweep(spec, out, workers=1, log=None)
    # 12 Minimal configurations reach the simulator (6 stop at the version check: error rows)
    assert first.failed == 12 and len(first.rows) == 24  # failed rows are not results
    assert not os.path.exists(os.path.join(out, "summary.html"))
    logged = _rows(os.path.join(out, "results.jsonl"))
    assert sum(r["status"] == "failed" and "simulated bug" in r["error"] for r in logged) == 12
    monkeypatch.setattr(ev, "simulate_config", real)
    second = run_sweep(spec, out, workers=1, log=None)
    assert second.computed == 12 and second.cached == 24 and len(second.rows) == 36
    assert all(r["status"] != "failed" for r in _rows(os.path.join(out, "results.jsonl")))


def test_a_results_folder_is_written_by_one_sweep_at_a_time(spec_file, tmp_path, capsys):
    import socket
    import subprocess
    import sys
    out = tmp_path / "res"
    out.mkdir()
    # the holder lives until killed below (no short sleep a slow, loaded machine could outlast)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    try:
        (out / ".lock").write_text(f"{socket.gethostname()} {holder.pid}")
        assert main(["sweep", spec_file, "-o", str(out), "--workers", "1"]) == 2
        assert "another sweep" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its stale lock is taken over, and released at the end
    assert main(["sweep", spec_file, "-o", str(out), "--workers", "1"]) == 0
    assert not (out / ".lock").exists()

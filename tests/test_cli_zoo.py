"""``nsoc zoo list|build`` on the command line."""
from __future__ import annotations

import json

import pytest

import nsoc
from nsoc.cli import main


def test_zoo_list_table(capsys):
    assert main(["zoo", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("akidanet", "akidanet_vww", "dscnn_kws", "mobilenet", "yolo", "ecg1d"):
        assert f"\n{name} " in out
    assert "--alpha 1 --size 224 --classes 1000" in out
    assert "akida_models.akidanet_imagenet" in out


def test_zoo_list_one_entry_and_json(capsys):
    assert main(["zoo", "list", "dscnn_kws"]) == 0
    assert "--frames" in capsys.readouterr().out
    assert main(["zoo", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    akidanet = next(e for e in data if e["name"] == "akidanet")
    assert akidanet["defaults"]["alpha"] == 1.0 and akidanet["targets"] == ["v1", "v2"]


def test_zoo_build_writes_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "a.fbz"
    argv = ["zoo", "build", "akidanet_vww", "--size", "32", "--target", "v1", "-o", str(out)]
    assert main(argv) == 0
    assert "15 layers" in capsys.readouterr().out
    model = nsoc.load(out)
    assert model.ip_version == "v1" and model.input_shape == (32, 32, 3)
    assert model.metadata["zoo_size"] == "32"
    before = out.read_bytes()
    assert main(argv[:-2] + ["--seed", "1", "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main(argv + ["--seed", "1", "--force"]) == 0
    assert out.read_bytes() != before


@pytest.mark.parametrize("args,message", [
    (["resnet"], "unknown zoo entry"),
    (["dscnn_kws", "--alpha", "0.5"], "no parameter"),
    (["akidanet", "--alpha", "wide"], "not a valid number"),
    (["akidanet", "--size", "8"], "size=8"),
    (["akidanet", "--target", "v1", "--act-bits", "8"], "act_bits=8"),
])
def test_zoo_build_user_errors_exit_2(args, message, tmp_path, capsys):
    assert main(["zoo", "build"] + args + ["-o", str(tmp_path / "m.fbz")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "m.fbz").exists()


def test_zoo_build_missing_folder_exit_2(tmp_path, capsys):
    assert main(["zoo", "build", "dscnn_kws", "-o", str(tmp_path / "no" / "m.fbz")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_zoo_build_default_output_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["zoo", "build", "ecg1d", "--target", "v1", "--length", "192"]) == 0
    assert nsoc.load(tmp_path / "ecg1d_v1.fbz").input_shape == (16, 12, 1)
    assert "ecg1d_v1.fbz" in capsys.readouterr().out

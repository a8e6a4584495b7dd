"""Ecosystem conventions of the command and the package: --json listings, -q/-v logging, the
data folder found the same way from a checkout and from a wheel install (--data-dir,
NASPREDICT_DATA_DIR), and the packaging metadata."""
from __future__ import annotations

import json
import logging
import tomllib
from pathlib import Path

import pytest

from naspredict import data
from naspredict.cli import main
from naspredict.data import paths

ROOT = Path(__file__).resolve().parents[1]


def test_json_listings_are_parseable_records(capsys):
    assert main(["show", "nb201-cifar10", "-k", "3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 3 and rows[0]["baseline_accuracy"] == pytest.approx(94.0664)
    assert rows[0]["arch"].startswith("|nor_conv_3x3~0|")
    assert main(["spaces", "--json"]) == 0
    spaces = {r["space"] for r in json.loads(capsys.readouterr().out)}
    assert {"nb201", "nb101", "darts", "nbgraph"} <= spaces
    assert main(["benchmarks", "--json"]) == 0
    names = {r["benchmark"] for r in json.loads(capsys.readouterr().out)}
    assert "nb201-cifar10" in names and "nbgraph-cora" in names


def test_show_refuses_bad_rows_and_columns(capsys):
    assert main(["show", "nb201-cifar10", "-k", "-2"]) == 2
    assert "--top must be a positive" in capsys.readouterr().err
    assert main(["show", "nb201-cifar10", "--columns", "nope"]) == 2
    assert "has no column 'nope'" in capsys.readouterr().err


def test_verbosity_sets_the_package_logger_only(capsys):
    root_level = logging.getLogger().level
    try:
        assert main(["-v", "spaces"]) == 0
        assert logging.getLogger("naspredict").level == logging.INFO
        assert main(["-vv", "spaces"]) == 0
        assert logging.getLogger("naspredict").level == logging.DEBUG
        assert main(["-q", "spaces"]) == 0
        assert logging.getLogger("naspredict").level == logging.ERROR
        assert logging.getLogger().level == root_level
    finally:
        logging.getLogger("naspredict").setLevel(logging.NOTSET)
    with pytest.raises(SystemExit):
        main(["-q", "-v", "spaces"])  # mutually exclusive: argparse usage error, exit 2


def test_data_dir_option_and_variable(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("NASPREDICT_DATA_DIR", raising=False)
    monkeypatch.delenv("NASPREDICT_SHARED_DATA", raising=False)
    assert main(["--data-dir", str(tmp_path / "missing"), "spaces"]) == 2
    assert "does not exist" in capsys.readouterr().err
    # an empty folder: the error names where it looked and how to point elsewhere
    monkeypatch.setenv("NASPREDICT_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError) as err:
        paths.shared_file("nb201_12epoch", "nb201_12epoch_accs.csv")
    msg = str(err.value)
    assert str(tmp_path) in msg and "$NASPREDICT_DATA_DIR" in msg and "--data-dir" in msg
    try:
        data.set_data_dir(tmp_path)
        assert paths.data_dir_candidates() == [("set_data_dir() / --data-dir", tmp_path.resolve())]
    finally:
        data.set_data_dir(None)


def test_wheel_install_finds_the_folder_from_the_working_directory(tmp_path, monkeypatch):
    """Installed as a wheel, the module lies in site-packages: the checkout guess misses, and the
    folder is found from the working directory instead (7 of 17 tables vanished before)."""
    from .conftest import shared_or_skip
    real = shared_or_skip("nb201_12epoch", "nb201_12epoch_accs.csv").parents[1]
    monkeypatch.delenv("NASPREDICT_DATA_DIR", raising=False)
    monkeypatch.delenv("NASPREDICT_SHARED_DATA", raising=False)
    fake_site = tmp_path / "venv" / "lib" / "site-packages" / "naspredict" / "data" / "paths.py"
    monkeypatch.setattr(paths, "__file__", str(fake_site))
    project = tmp_path / "project"
    (project / "shared").mkdir(parents=True)
    (project / "shared" / "data").symlink_to(real)
    monkeypatch.chdir(project)
    found = paths.shared_file("nb201_12epoch", "nb201_12epoch_accs.csv")
    assert found == project / "shared" / "data" / "nb201_12epoch" / "nb201_12epoch_accs.csv"
    monkeypatch.chdir(project / "shared")  # ../shared/data from a subfolder of the project too
    assert paths.shared_file("nb201_12epoch", "nb201_12epoch_accs.csv").exists()


def test_packaging_metadata():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = {d.split(">")[0].split("=")[0].split("<")[0].strip(): d for d in meta["dependencies"]}
    # imported directly, so declared (they used to arrive only through scikit-learn)
    assert {"scipy", "threadpoolctl", "torch", "botorch", "gpytorch"} <= set(deps)
    assert deps["botorch"] == "botorch>=0.11.1"  # 0.11.0 lacks qLogNParEGO, which mobo imports
    assert meta["license"] == "Apache-2.0" and (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert (ROOT / "naspredict" / "py.typed").exists()


def test_runs_json_and_batch_size_usage_error(tmp_path, capsys):
    db = str(tmp_path / "s.db")
    assert main(["search", "-b", "nb201-cifar10", "-t", "baseline_accuracy", "-s", "random", "-n", "3",
                 "--store", db, "--out", str(tmp_path), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["runs", "--store", db, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["name"] == "random-nb201-cifar10-0" and rows[0]["complete"] == 3
    with pytest.raises(SystemExit) as exc:
        main(["search", "-b", "nb201-cifar10", "-t", "baseline_accuracy", "--batch-size", "0", "--store", db])
    assert exc.value.code == 2 and "--batch-size must be at least 1" in capsys.readouterr().err


def test_tell_with_plain_numbers_says_what_it_takes():
    from naspredict.search import make_strategy
    s = make_strategy("random", "nb201", "baseline_accuracy", "max", seed=0)
    s.ask(1)
    for bad in (91.2, [91.2], "91.2"):
        with pytest.raises(TypeError, match="tell\\(\\) takes finished Trials"):
            s.tell(bad)

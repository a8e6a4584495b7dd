"""``naspredict search --log FILE --space S`` searches a user's own logged results (issue #13:
"search any table, including your own log"), and a single target's direction defaults to
the table's (a latency is minimised without -d)."""
from __future__ import annotations

import pytest

from naspredict import data
from naspredict.cli import main
from naspredict.store import ResultsStore


@pytest.fixture()
def log(tmp_path):
    path = tmp_path / "my_runs.csv"
    data.write_results(data.load("nbgraph-cora").subset(range(60)), path)
    return path


def _search(tmp_path, *argv):
    return main(["-q", "search", *argv, "--store", str(tmp_path / "s.db"), "--out", str(tmp_path / "o"),
                 "--no-progress"])


def test_a_log_is_searched_within_its_rows_and_resumes(tmp_path, log, capsys):
    argv = ["--log", str(log), "--space", "nbgraph", "-t", "valid_perf", "-s", "evolution",
            "-O", "population_size=6", "-O", "sample_size=3"]
    assert _search(tmp_path, *argv, "-n", "10") == 0
    assert _search(tmp_path, "--run", "evolution-log-my_runs-0", "--resume", "-n", "16") == 0
    logged = {str(a) for a in data.read_results(log, "nbgraph").arch_strings}
    with ResultsStore(tmp_path / "s.db") as store:
        trials = store.trials("evolution-log-my_runs-0", finished=True)
        cli = store.get_run("evolution-log-my_runs-0")["config"]["cli"]
    assert len(trials) == 16 and len({t.arch for t in trials}) == 16
    assert {t.arch for t in trials} <= logged  # only the log's archs are proposed
    assert cli["log"] == str(log.resolve()) and cli["space"] == "nbgraph" and cli["directions"] == ["max"]
    assert "60 rows" in cli["log_data"]


def test_an_edited_log_is_not_resumed(tmp_path, log, capsys):
    assert _search(tmp_path, "--log", str(log), "--space", "nbgraph", "-t", "valid_perf", "-s", "random",
                   "-n", "4", "--run", "r") == 0
    lines = log.read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ",123.0"  # one value changed
    log.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert _search(tmp_path, "--run", "r", "--resume", "-n", "8") == 2
    assert "has changed since the run was made" in capsys.readouterr().err


@pytest.mark.parametrize("argv,words", [
    (["--space", "nbgraph"], "--log needs --space"),  # (the log flag is added below, without --space)
    (["-b", "nbgraph-cora", "--space", "nbgraph"], "give --benchmark or --log, not both"),
    (["--space", "nbgraph", "-E", "train"], "--log is for --evaluator table"),
])
def test_log_misuse(tmp_path, log, capsys, argv, words):
    if words.startswith("--log needs"):
        argv = []
    assert _search(tmp_path, "--log", str(log), "-t", "valid_perf", "-s", "random", "-n", "3", *argv) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "s.db").exists()


def test_a_single_target_takes_the_tables_direction(tmp_path, capsys):
    assert _search(tmp_path, "-b", "nbgraph-cora", "-t", "latency", "-s", "random", "-n", "12", "--run", "lat") == 0
    with ResultsStore(tmp_path / "s.db") as store:
        cli = store.get_run("lat")["config"]["cli"]
        values = [t.result.metrics["latency"] for t in store.trials("lat", finished=True)]
    assert cli["directions"] == ["min"]
    assert f"best latency = {min(values):.4f}" in capsys.readouterr().out

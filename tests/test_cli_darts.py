"""``naspredict darts``: a tiny real search stored as a run, its plot, its errors."""
from __future__ import annotations

import json

from naspredict.cli import main
from naspredict.spaces import get_space
from naspredict.store import ResultsStore



def tiny(epochs: int = 2) -> list[str]:
    return ["--space", "nb201", "--data", "digits", "--data-fraction", "0.3", "--epochs", str(epochs),
            "--channels", "4", "--cells", "1", "--device", "cpu", "--no-progress"]


def test_darts_cli_stores_the_run_and_plots(tmp_path, capsys):
    store = tmp_path / "runs.db"
    assert main(["darts", "--method", "gdas", "--seed", "3", "--store", str(store), *tiny()]) == 0
    out = capsys.readouterr().out
    name = "gdas-nb201-s3"
    with ResultsStore(store) as s:
        run = s.get_run(name)
        assert run is not None and run["space"] == "nb201" and run["config"]["method"] == "gdas"
        (trial,) = s.trials(name)
        steps = s.intermediate(name, trial.id)
    arch = get_space("nb201").from_str(trial.arch)
    assert f"derived arch: {trial.arch}" in out and "skip_connect" in out  # the probability table
    r = trial.result
    assert r.state.value == "complete" and 0 <= r.metrics["val_accuracy"] <= 100 and r.cost > 0
    assert len(r.curves["val"]) == 2 and len(steps) == 2
    probs = r.info["op_probabilities"]["cell"]
    assert len(probs) == 3 and len(probs[0]) == 6 and abs(sum(probs[-1][0]) - 1) < 1e-6
    assert r.info["epoch_archs"][-1] == get_space("nb201").to_str(arch)
    assert (tmp_path / f"{name}-op-probabilities.png").stat().st_size > 5000
    # `naspredict runs` and `export` see it
    assert main(["runs", "--store", str(store)]) == 0
    assert name in capsys.readouterr().out
    exported = tmp_path / "run.jsonl"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every metric's direction is known: no warning
        assert main(["export", name, "--store", str(store), "-o", str(exported)]) == 0
    row = json.loads(exported.read_text().splitlines()[0])
    assert row["arch"] == trial.arch
    from naspredict.data.logged import read_sidecar
    hib = read_sidecar(exported)["higher_is_better"]
    assert hib["train_loss"] is False and hib["val_accuracy"] and hib["derived_val_accuracy"]
    # the same name again: refused before searching, exit 2
    assert main(["darts", "--method", "gdas", "--seed", "3", "--store", str(store), *tiny()]) == 2
    assert "already exists" in capsys.readouterr().err


def test_darts_cli_order2_and_errors(tmp_path, capsys):
    store = tmp_path / "runs.db"
    plot = tmp_path / "plots" / "o2.png"
    assert main(["darts", "--order", "2", "--store", str(store), "--plot", str(plot), *tiny(1)]) == 0
    assert "second order" in capsys.readouterr().out and plot.exists()
    with ResultsStore(store) as s:
        assert s.get_run("darts-o2-nb201-s0") is not None
    for method in ("gdas", "drnas"):
        assert main(["darts", "--method", method, "--order", "2", "--store", str(store), *tiny()]) == 2
        assert f"{method} has none" in capsys.readouterr().err

"""`naspredict export RUN --optuna STORAGE`: a run becomes an Optuna study with the same trials,
values, directions and states, the arch's choices as params (decodable back to the arch)."""
from __future__ import annotations

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from naspredict.cli import main  # noqa: E402
from naspredict.spaces import get_space  # noqa: E402
from naspredict.store import ResultsStore  # noqa: E402


def test_single_objective_run_as_a_study(tmp_path, capsys):
    db, url = str(tmp_path / "s.db"), f"sqlite:///{tmp_path / 'study.db'}"
    assert main(["search", "-b", "nb201-cifar10", "-t", "baseline_accuracy", "-s", "evolution", "-n", "15",
                 "--store", db, "--out", str(tmp_path), "--no-progress"]) == 0
    with ResultsStore(db) as store:
        name = store.runs()["name"].iloc[0]
        frame = store.frame(name)
    capsys.readouterr()
    assert main(["export", name, "--store", db, "--optuna", url]) == 0
    assert "15 trials" in capsys.readouterr().out
    study = optuna.load_study(study_name=name, storage=url)
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert len(study.trials) == 15
    assert study.best_value == pytest.approx(frame["baseline_accuracy"].max())
    sp = get_space("nb201")
    for t, (_, row) in zip(study.trials, frame.iterrows()):
        assert t.values[0] == row["baseline_accuracy"]
        names = [c.name for c in sp.choices()]
        idx = [sp.choices()[k].options.index(t.params[n]) for k, n in enumerate(names)]
        assert sp.to_str(sp.from_choices(idx)) == t.user_attrs["arch"] == row["arch"]
    # a second export to the same study name is refused; another name works
    assert main(["export", name, "--store", db, "--optuna", url]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["export", name, "--store", db, "--optuna", url, "--study-name", "copy"]) == 0
    assert main(["export", name, "--store", db, "-o", str(tmp_path / "r.csv"), "--study-name", "x"]) == 2


def test_multi_objective_run_keeps_both_directions(tmp_path):
    db, url = str(tmp_path / "s.db"), f"sqlite:///{tmp_path / 'study.db'}"
    assert main(["search", "-b", "nbgraph-cora", "-t", "valid_perf,latency", "-d", "max,min", "-s", "random",
                 "-n", "10", "--store", db, "--out", str(tmp_path), "--no-progress"]) == 0
    with ResultsStore(db) as store:
        name = store.runs()["name"].iloc[0]
    assert main(["export", name, "--store", db, "--optuna", url]) == 0
    study = optuna.load_study(study_name=name, storage=url)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert all(len(t.values) == 2 and np.isfinite(t.values).all() for t in study.trials)
    assert "link" in study.trials[0].params and len(study.best_trials) >= 1

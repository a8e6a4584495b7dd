"""Multi-fidelity strategies from the CLI (issues #12 and #13): the levels are checked against
what the table answers before the run (an unanswerable level used to fail every trial and
exit 0 with nothing), ``-O fidelities=[...]`` reaches successive halving and BOHB (their
constructors pass it on to Hyperband's), and a run with only low-fidelity trials says so."""
from __future__ import annotations

import pytest

from naspredict.cli import main
from naspredict.search.cli import constructor_params
from naspredict.store import ResultsStore

CURVES = ["-b", "nb201-curves", "-t", "final_val_accuracy"]


def _search(tmp_path, *argv):
    return main(["-q", "search", *argv, "--store", str(tmp_path / "s.db"), "--out", str(tmp_path / "o"),
                 "--no-progress", "--run", "r"])


@pytest.mark.parametrize("argv,words", [
    (["-b", "nb201-cifar10", "-t", "baseline_accuracy", "-s", "mf-bo"],
     ["nb201-cifar10 answers the full fidelity only", "-b nb201-curves"]),
    ([*CURVES, "-s", "hyperband"], ["needs its epoch levels", "-O fidelities=[22,66,200]", "epochs 1..200"]),
    ([*CURVES, "-s", "successive-halving", "-O", "fidelities=[12,100]"], ["the last level must be the full 200"]),
    ([*CURVES, "-s", "bohb", "-O", "fidelities=[12,250]"], ["250 not answered"]),
    (["--evaluator", "train", "--data", "digits", "-e", "4", "-s", "mf-bo"],  # mf-bo's default (12, 200)
     ["12, 200 not answered", "epochs 1..4 (-e 4 = full)", "-O fidelities=[1,4]"]),
])
def test_unanswerable_levels_are_refused_before_the_run(tmp_path, capsys, argv, words):
    assert _search(tmp_path, *argv, "-n", "6") == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err
    assert not (tmp_path / "s.db").exists()


def test_successive_halving_takes_its_levels_from_the_option(tmp_path, capsys):
    assert "fidelities" in constructor_params("successive-halving") and "eta" in constructor_params("bohb")
    assert _search(tmp_path, *CURVES, "-s", "successive-halving", "-O", "fidelities=[22,66,200]", "-n", "9") == 0
    with ResultsStore(tmp_path / "s.db") as store:
        fids = {str(t.fidelity) for t in store.trials("r", finished=True)}
    assert fids == {"epochs=22"}  # 9 evaluations: the first rung only
    out = capsys.readouterr().out
    assert "no complete full-fidelity evaluation of final_val_accuracy in 9 trials (9 at lower fidelities)" in out
    assert "--resume -n N" in out


def test_mf_bo_on_a_table_with_curves_reaches_the_full_level(tmp_path, capsys):
    assert _search(tmp_path, *CURVES, "-s", "mf-bo", "-n", "30") == 0
    with ResultsStore(tmp_path / "s.db") as store:
        fids = [str(t.fidelity) for t in store.trials("r", finished=True)]
    assert "epochs=12" in fids and "full" in fids
    assert "best final_val_accuracy = " in capsys.readouterr().out

"""`naspredict search --resume` never silently changes a run (issue #13): the stored settings
are compared with the given ones, only the budget may change; an interrupted mobo / evolution
search resumes to exactly the uninterrupted one; bad store and output paths exit 2 and leave
nothing behind; default run names and plot files are per run."""
from __future__ import annotations

import sqlite3

import pytest

from naspredict import data
from naspredict.cli import main
from naspredict.evaluators import as_evaluator
from naspredict.search import make_strategy
from naspredict.search.cli import COMMON_KEYS, TRAINING_KEYS, resume_settings
from naspredict.store import ResultsStore

TABLE = ["-b", "nb201-cifar10", "-t", "baseline_accuracy"]


def _search(tmp_path, *args, store="r.db"):
    return main(["search", *args, "--store", str(tmp_path / store), "--out", str(tmp_path / "out"),
                 "--no-progress"])


def _frame(tmp_path, run, store="r.db"):
    with ResultsStore(tmp_path / store) as st:
        return st.frame(run)


# -- the comparison itself ---------------------------------------------------------------------
STORED = {"evaluator": "table", "benchmark": "nb201-cifar10", "targets": ["baseline_accuracy"],
          "directions": ["max"], "strategy": "evolution", "predictor": None, "seed": 0, "batch_size": 1,
          "executor": "serial", "workers": None, "pruner": None, "device": None, "data_root": None,
          "out": "o", "options": {}, "log": None, "warm_start": None, "warm_start_size": None}


def test_resume_settings_names_every_difference_with_both_values():
    with pytest.raises(ValueError) as err:
        resume_settings(STORED, {"seed": 1, "directions": ["min"], "strategy": "evolution",
                                 "predictor": "gp"}, "k")
    msg = str(err.value)
    assert "run 'k'" in msg and "--seed stored 0, given 1" in msg and "--direction stored max, given min" in msg
    assert "--predictor stored none, given 'gp'" in msg and "--strategy" not in msg  # the same value is fine
    assert "--run NEW" in msg and "drop the argument" in msg


def test_resume_settings_left_out_means_as_stored():
    settings, unchecked = resume_settings(STORED, {}, "k")
    assert settings == STORED and unchecked == []
    # where and how fast may change; training options do not apply to a table run
    settings, unchecked = resume_settings(STORED, {"out": "elsewhere", "epochs": 3, "seed": 0}, "k")
    assert settings["out"] == "elsewhere" and "epochs" not in settings and unchecked == []


def test_resume_settings_of_an_old_run_lists_what_it_cannot_check():
    old = {"targets": ["acc"], "directions": ["max"], "seed": 0, "evaluator": "train"}
    settings, unchecked = resume_settings(old, {"epochs": 4}, "k")
    assert settings["epochs"] == 4
    # options, log and the warm start are never unchecked: a run stored before they existed was
    # given none
    expected = [k for k in COMMON_KEYS + TRAINING_KEYS
                if k not in old and k not in ("options", "log", "warm_start", "warm_start_size")]
    assert unchecked == ["--" + k.replace("_", "-") if k != "train_batch" else "--batch-size-train"
                         for k in expected]
    with pytest.raises(ValueError, match="--seed stored 0, given 2"):
        resume_settings(old, {"seed": 2}, "k")


# -- the CLI -----------------------------------------------------------------------------------
def test_cli_refuses_a_resume_that_changes_results(tmp_path, capsys):
    base = [*TABLE, "-s", "evolution", "--run", "k"]
    assert _search(tmp_path, *base, "-n", "12") == 0
    capsys.readouterr()
    for change, text in [(["-s", "random"], "--strategy stored 'evolution', given 'random'"),
                         (["--seed", "3"], "--seed stored 0, given 3"),
                         (["-t", "baseline_params"], "--target stored baseline_accuracy, given baseline_params"),
                         (["-d", "min"], "--direction stored max, given min"),
                         (["-b", "nb201-curves", "-t", "final_val_accuracy"], "--benchmark stored"),
                         (["--executor", "simulated"], "--executor stored 'serial', given 'simulated'"),
                         (["--batch-size", "2"], "--batch-size stored 1, given 2")]:
        args = ["--run", "k", "--resume", "-n", "20", *change]
        assert _search(tmp_path, *args) == 2, change
        err = capsys.readouterr().err
        assert text in err and "--run NEW" in err and err.count("\n") == 1, err
    assert len(_frame(tmp_path, "k")) == 12  # nothing ran
    # a smaller budget than already done is an error; only --run and --store continue as stored
    assert _search(tmp_path, "--run", "k", "--resume", "-n", "5") == 2
    assert "already has 12 evaluations, more than --budget 5" in capsys.readouterr().err
    assert _search(tmp_path, "--run", "k", "--resume", "-n", "40") == 0
    assert _search(tmp_path, "--run", "k", "--resume", *base, "-n", "40") == 0  # the same settings: fine
    assert "already has the 40 evaluations" in capsys.readouterr().err
    frame = _frame(tmp_path, "k")
    nb = data.load("nb201-cifar10")
    straight = make_strategy("evolution", nb.space, "baseline_accuracy", "max", 0).run(
        as_evaluator(nb, ["baseline_accuracy"]), 40, progress=False)
    assert list(frame["arch"]) == list(straight.frame["arch"])


def test_a_run_stored_without_settings_resumes_with_a_warning(tmp_path, capsys):
    nb = data.load("nb201-cifar10")
    with ResultsStore(tmp_path / "r.db") as st:  # the Python API stores no CLI settings
        make_strategy("random", nb.space, "baseline_accuracy", seed=0).run(
            as_evaluator(nb, ["baseline_accuracy"]), 5, store=st, run_name="old", progress=False,
            config={"benchmark": "nb201-cifar10", "predictor": "", "pruner": ""})
    with pytest.warns(UserWarning, match="cannot check them: --batch-size, --executor, --workers"):
        assert _search(tmp_path, *TABLE, "-s", "random", "--run", "old", "--resume", "-n", "8") == 0
    assert len(_frame(tmp_path, "old")) == 8
    assert _search(tmp_path, *TABLE, "-s", "random", "--run", "old", "--resume", "-n", "9", "--seed", "4") == 2
    assert "--seed stored 0, given 4" in capsys.readouterr().err


@pytest.mark.parametrize("strategy,first,total,extra", [
    ("evolution", 40, 80, TABLE),   # past the population of 30: tournaments and mutations
    ("mobo", 11, 12, ["-b", "nbgraph-cora", "-t", "valid_perf,latency", "-d", "max,min"]),  # GP rounds
])
def test_interrupted_search_resumes_to_the_uninterrupted_one(tmp_path, strategy, first, total, extra):
    assert _search(tmp_path, *extra, "-s", strategy, "--run", "a", "-n", str(first)) == 0
    assert _search(tmp_path, "--run", "a", "--resume", "-n", str(total)) == 0
    assert _search(tmp_path, *extra, "-s", strategy, "--run", "b", "-n", str(total)) == 0
    a, b = _frame(tmp_path, "a"), _frame(tmp_path, "b")
    assert len(a) == total and a["arch"].nunique() == total
    assert list(a["arch"]) == list(b["arch"])
    cols = [c for c in b.columns if c not in ("seq", "curves", "worker")]
    assert a[cols].equals(b[cols])


def test_default_names_include_the_predictor_and_plots_are_per_run(tmp_path, capsys):
    assert _search(tmp_path, *TABLE, "-s", "bo", "-n", "3") == 0
    assert _search(tmp_path, *TABLE, "-s", "bo", "-p", "rf", "-n", "3") == 0
    assert _search(tmp_path, *TABLE, "-s", "random", "-n", "3") == 0
    with ResultsStore(tmp_path / "r.db") as st:
        assert st.runs()["name"].tolist() == ["bo-gp-nb201-cifar10-0", "bo-rf-nb201-cifar10-0",
                                             "random-nb201-cifar10-0"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "bo-gp-nb201-cifar10-0_best_so_far.png", "bo-rf-nb201-cifar10-0_best_so_far.png",
        "random-nb201-cifar10-0_best_so_far.png"]
    # a resume by the default name finds the run
    assert _search(tmp_path, *TABLE, "-s", "bo", "-p", "rf", "--resume", "-n", "4") == 0
    assert len(_frame(tmp_path, "bo-rf-nb201-cifar10-0")) == 4
    assert _search(tmp_path, *TABLE, "-s", "random", "-p", "gp", "-n", "3") == 2
    assert "takes no predictor" in capsys.readouterr().err


# -- bad paths ---------------------------------------------------------------------------------
def _bad(tmp_path, capsys, *args, store):
    code = main(["search", *TABLE, "-s", "random", "-n", "3", "--run", "x", "--store", str(store),
                 "--no-progress", *args])
    err = capsys.readouterr().err
    return code, err


def test_bad_store_and_out_paths_exit_2_with_the_fix(tmp_path, capsys):
    out = ["--out", str(tmp_path / "o")]
    junk = tmp_path / "junk.db"
    junk.write_text("not a database, just text\n" * 50)
    code, err = _bad(tmp_path, capsys, *out, store=junk)
    assert code == 2 and "not a results store (not an SQLite database)" in err and err.count("\n") == 1
    assert junk.read_text().startswith("not a database")  # left as it was

    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE people (name TEXT)")
    con.commit()
    con.close()
    code, err = _bad(tmp_path, capsys, *out, store=other)
    assert code == 2 and "an SQLite database but not a results store" in err

    ro = tmp_path / "ro.db"
    assert _search(tmp_path, *TABLE, "-s", "random", "-n", "2", store="ro.db") == 0
    ro.chmod(0o444)
    try:
        code, err = _bad(tmp_path, capsys, *out, store=ro)
        assert code == 2 and "is read-only; make it writable (chmod u+w" in err
        assert main(["runs", "--store", str(ro)]) == 2
        assert "read-only" in capsys.readouterr().err
    finally:
        ro.chmod(0o644)

    code, err = _bad(tmp_path, capsys, *out, store=tmp_path)
    assert code == 2 and "is a folder, not a file" in err
    code, err = _bad(tmp_path, capsys, *out, store=tmp_path / "missing" / "r.db")
    assert code == 2 and "does not exist; create it (mkdir -p" in err and not (tmp_path / "missing").exists()
    code, err = _bad(tmp_path, capsys, *out, store=junk / "r.db")
    assert code == 2 and "is a file, not a folder" in err
    code, err = _bad(tmp_path, capsys, "--resume", *out, store=tmp_path / "none.db")
    assert code == 2 and "no results store at" in err and not (tmp_path / "none.db").exists()

    code, err = _bad(tmp_path, capsys, "--out", str(junk), store=tmp_path / "new.db")
    assert code == 2 and "is a file, not a folder" in err and not (tmp_path / "new.db").exists()
    code, err = _bad(tmp_path, capsys, "--out", str(junk / "plots"), store=tmp_path / "new.db")
    assert code == 2 and "which is a file" in err and not (tmp_path / "new.db").exists()
    assert main(["export", "x", "--store", str(junk), "-o", str(tmp_path / "x.csv")]) == 2
    assert "not a results store" in capsys.readouterr().err


def test_a_failure_while_creating_the_run_leaves_no_run_behind(tmp_path, capsys, monkeypatch):
    def broken(self, *a, **k):
        raise ValueError("the store could not lock the run (a test)")

    db = tmp_path / "fresh.db"
    monkeypatch.setattr(ResultsStore, "acquire", broken)  # fails right after the run is created
    code, err = _bad(tmp_path, capsys, "--out", str(tmp_path / "o"), store=db)
    assert code == 2 and "could not lock" in err
    assert not db.exists()  # a store this call created and left empty goes too
    monkeypatch.undo()
    assert _search(tmp_path, *TABLE, "-s", "random", "-n", "2", "--run", "kept") == 0
    monkeypatch.setattr(ResultsStore, "acquire", broken)
    code, err = _bad(tmp_path, capsys, "--out", str(tmp_path / "o"), store=tmp_path / "r.db")
    assert code == 2
    with ResultsStore(tmp_path / "r.db") as st:
        assert st.runs()["name"].tolist() == ["kept"]  # the failed run 'x' is gone, the other kept
    monkeypatch.undo()
    code, err = _bad(tmp_path, capsys, "--out", str(tmp_path / "o"), store=tmp_path / "r.db")
    assert code == 0, err  # the name is free

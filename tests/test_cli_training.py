"""``naspredict train``, ``naspredict profile`` and ``naspredict search --evaluator train``."""
from __future__ import annotations

import json

from naspredict.cli import main
from naspredict.store import ResultsStore

CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
TINY = ["--data", "digits", "-C", "4", "-N", "1", "--device", "cpu"]


def test_train_prints_the_curves_and_metrics(capsys):
    assert main(["train", CELL, *TINY, "-e", "2"]) == 0
    out = capsys.readouterr().out
    assert "complete" in out and "test_accuracy" in out and "params" in out
    assert "    1 " in out and "    2 " in out  # one row per epoch
    assert main(["train", CELL, *TINY, "-e", "1", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["state"] == "complete" and len(res["curves"]["val"]) == 1


def test_profile_gives_nb201s_published_parameter_count(capsys):
    assert main(["profile", CELL]) == 0  # C=16, N=5, 3x32x32, 10 classes: NAS-Bench-201's setting
    out = capsys.readouterr().out
    assert "params 1,288,506" in out and "latency at batch 64" in out


def test_bad_training_input_exits_2_with_the_reason(capsys):
    assert main(["train", "|bogus~0|", *TINY]) == 2
    assert "NB201" in capsys.readouterr().err
    assert main(["train", CELL, "--data", "no-such-set", "-C", "4", "-N", "1"]) == 2
    assert "unknown image data set 'no-such-set'" in capsys.readouterr().err
    assert main(["search", "--evaluator", "train", "--benchmark", "nb201-cifar10", *TINY]) == 2
    assert main(["search", "-s", "random"]) == 2
    assert "--benchmark is required" in capsys.readouterr().err


def test_search_trains_every_proposal_and_stores_the_curves(tmp_path, capsys):
    db = tmp_path / "runs.db"
    assert main(["search", "--evaluator", "train", *TINY, "-e", "1", "-s", "random", "-n", "3",
                 "--store", str(db), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "best val_accuracy" in out and (tmp_path / "out" / "random-train-nb201-digits-0_best_so_far.png").exists()
    with ResultsStore(db) as store:
        trials = store.trials("random-train-nb201-digits-0")
    assert len(trials) == 3 and all(len(t.result.curves["val"]) == 1 for t in trials)


def test_search_with_a_pruner_reads_the_training_curves(tmp_path, capsys):
    from naspredict.search.cli import pruner_checkpoints
    assert pruner_checkpoints(12) == (2, 4, 6) and pruner_checkpoints(1) == (1,)
    db = tmp_path / "runs.db"
    for pruner in ("lc-srm", "median"):
        assert main(["search", "--evaluator", "train", *TINY, "-e", "2", "-s", "random", "-n", "2",
                     "--pruner", pruner, "--run", pruner, "--store", str(db), "--out", str(tmp_path),
                     "--no-progress"]) == 0, capsys.readouterr().err
    with ResultsStore(db) as store:
        assert all(t.result.ok for run in ("lc-srm", "median") for t in store.trials(run))

"""``naspredict fit`` and ``naspredict predict`` end to end, on a benchmark table and on logged
results written from it; ordinary mistakes exit 2 with a message and no traceback."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from naspredict import data
from naspredict.cli import main
from naspredict.predictors import load_predictor, read_header

TARGET = "baseline_accuracy"


@pytest.fixture(scope="module")
def files(nb201, tmp_path_factory):
    """A logged-results CSV of 80 real NB201 rows and 40 other cells as candidates."""
    tmp = tmp_path_factory.mktemp("fitpredict")
    rows = np.random.default_rng(3).permutation(len(nb201))
    log = data.write_results(nb201.subset(rows[:80]), tmp / "log.csv")
    cand = [nb201.archs[i] for i in rows[80:120]]
    txt = tmp / "cands.txt"
    txt.write_text("# candidates\n\n" + "\n".join(nb201.space.to_str(a) for a in cand) + "\n")
    return {"tmp": tmp, "log": log, "cands": cand, "txt": txt}


def _run(argv, capsys):
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def _ranked(path) -> pd.DataFrame:
    return pd.read_csv(path)


def test_fit_benchmark_then_predict(files, capsys, nb201):
    tmp = files["tmp"]
    model = tmp / "rf.nspm"
    rc, out, _ = _run(["fit", "-b", "nb201-cifar10", "-t", TARGET, "-p", "rf", "-n", "60",
                       "--seed", "1", "-o", str(model)], capsys)
    assert rc == 0
    assert "fitted rf on 60 of 15625 nb201 archs from benchmark nb201-cifar10" in out
    assert f"saved {model}" in out
    head = read_header(model)
    assert (head["predictor"], head["target"], head["direction"], head["train_size"], head["seed"]) \
        == ("rf", TARGET, "max", 60, 1)
    assert head["source"] == {"benchmark": "nb201-cifar10"}
    # the same fit in Python: the seeded sample and seed are what the header says
    idx = np.sort(np.random.default_rng(1).choice(len(nb201), 60, replace=False))
    from naspredict.predictors import make
    ref = make("rf", random_state=1).fit([nb201.archs[i] for i in idx], nb201.values(TARGET)[idx])

    csv = tmp / "ranked.csv"
    rc, out, _ = _run(["predict", str(model), "--archs", str(files["txt"]), "-o", str(csv),
                       "--top", "3"], capsys)
    assert rc == 0 and f"wrote {csv}" in out and "highest first" in out
    df = _ranked(csv)
    assert list(df.columns) == ["rank", "arch", "prediction", "std"]
    assert len(df) == 40 and list(df["rank"]) == list(range(1, 41))
    assert (np.diff(df["prediction"]) <= 0).all(), "best (highest) first"
    mean, std = ref.predict(files["cands"], return_std=True)
    by_arch = dict(zip((nb201.space.to_str(a) for a in files["cands"]), zip(mean, std)))
    for row in df.itertuples():
        assert (row.prediction, row.std) == pytest.approx(by_arch[row.arch], abs=1e-9)
    assert df["arch"].iloc[0] in out and df["arch"].iloc[3] not in out  # --top 3 rows printed


def test_fit_log_and_predict_from_csv(files, capsys):
    tmp = files["tmp"]
    model = tmp / "log-xgb.nspm"
    rc, out, _ = _run(["fit", "--log", str(files["log"]), "--space", "nb201", "-t", TARGET,
                       "-p", "xgb", "-o", str(model)], capsys)
    assert rc == 0 and f"from log {files['log']}" in out and "higher is better" in out
    head = read_header(model)
    assert head["train_size"] == 80 and head["source"]["log"] == str(files["log"].resolve())
    # candidates as a CSV with an arch column: the log itself
    csv = tmp / "log-ranked.csv"
    rc, out, _ = _run(["predict", str(model), "--archs", str(files["log"]), "-o", str(csv)], capsys)
    assert rc == 0
    df = _ranked(csv)
    assert list(df.columns) == ["rank", "arch", "prediction"]  # xgb gives no std
    assert (np.diff(df["prediction"]) <= 0).all()
    log = pd.read_csv(files["log"])
    m = load_predictor(model)
    expect = m.predict([m.space_.from_str(s) for s in log["arch"]])
    assert sorted(df["prediction"], reverse=True) == pytest.approx(sorted(expect, reverse=True), abs=1e-12)

    # a lower-is-better target of the log: --minimize ranks low predictions first
    model_min = tmp / "log-min.nspm"
    rc, out, _ = _run(["fit", "--log", str(files["log"]), "--space", "nb201", "-t",
                       "baseline_drift_60_std", "--minimize", "-p", "rf", "-o", str(model_min)], capsys)
    assert rc == 0 and "lower is better" in out and read_header(model_min)["direction"] == "min"
    rc, out, _ = _run(["predict", str(model_min), "--archs", str(files["txt"]), "-o", str(csv)], capsys)
    assert rc == 0 and "lowest first" in out
    assert (np.diff(_ranked(csv)["prediction"]) >= 0).all()


def test_errors_exit_2_with_the_fix(files, capsys, tmp_path):
    tmp = files["tmp"]
    model = tmp / "rf.nspm"
    if not model.exists():
        assert main(["fit", "-b", "nb201-cifar10", "-t", TARGET, "-p", "rf", "-n", "30", "-o", str(model)]) == 0
    bad_line = tmp_path / "bad.txt"
    good = files["txt"].read_text().splitlines()[2]
    bad_line.write_text(f"{good}\n|nor_conv_3x3~0|+|oops|\n")
    other_space = tmp_path / "nb101.txt"
    other_space.write_text("010.001.000:input,conv1x1-bn-relu,output\n")
    no_col = tmp_path / "nocol.csv"
    no_col.write_text("cell,score\nx,1\n")
    cases = [
        (["predict", str(tmp / "missing.nspm"), "--archs", str(files["txt"])], "does not exist"),
        (["predict", str(tmp_path), "--archs", str(files["txt"])], "is a folder"),
        (["predict", str(files["txt"]), "--archs", str(files["txt"])], "not a naspredict model file"),
        (["predict", str(model), "--archs", str(bad_line)],
         rf"{bad_line}, line 2: .*expected one canonical nb201 arch string per line, like \|"),
        (["predict", str(model), "--archs", str(other_space)], rf"{other_space}, line 1: .*nb201"),
        (["predict", str(model), "--archs", str(no_col)], "no 'arch' column"),
        (["predict", str(model), "--archs", str(tmp_path / "none.txt")], "does not exist"),
        (["fit", "-b", "nb201-cifar10", "-t", TARGET, "-p", "lc-srm", "-o", str(tmp_path / "m")],
         "partial learning curves"),
        (["fit", "-b", "nb201-cifar10", "-t", TARGET, "-p", "magic", "-o", str(tmp_path / "m")],
         "unknown predictor 'magic'"),
        (["fit", "-b", "nb201-cifar10", "-t", "nope", "-p", "rf", "-o", str(tmp_path / "m")], "nope"),
        (["fit", "-b", "nb201-cifar10", "-t", TARGET, "--minimize", "-p", "rf", "-o", str(tmp_path / "m")],
         "directions are known"),
        (["fit", "--log", str(files["log"]), "--space", "nb201", "-t", TARGET, "-p", "rf", "-n", "500",
          "-o", str(tmp_path / "m")], "use -n 80 or fewer"),
        (["fit", "--log", str(files["log"]), "-t", TARGET, "-p", "rf", "-o", str(tmp_path / "m")],
         "--log needs --space"),
        (["fit", "--log", str(files["log"]), "--space", "nb201", "-t", TARGET, "-p", "rf",
          "-o", str(tmp_path)], "is a folder"),
    ]
    import re
    for argv, msg in cases:
        rc, _, err = _run(argv, capsys)
        assert rc == 2, (argv, err)
        assert err.startswith(f"naspredict {argv[0]}: error: ") and re.search(msg, err), (argv, err)
        assert "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_fit_takes_predictor_options(files, capsys):
    model = files["tmp"] / "rf50.nspm"
    rc, _, _ = _run(["fit", "-b", "nb201-cifar10", "-t", TARGET, "-p", "rf", "-n", "30",
                     "-O", "n_estimators=7", "-O", "min_samples_leaf=2", "-o", str(model)], capsys)
    assert rc == 0
    assert read_header(model)["options"] == {"n_estimators": 7, "min_samples_leaf": 2}
    fitted = load_predictor(model)
    assert fitted.n_estimators == 7 and fitted.min_samples_leaf == 2
    for opts, words in ((["-O", "nope=1"], ["no option 'nope'", "n_estimators=500"]),
                        (["-O", "n_estimators=many"], ["expected a whole number"]),
                        (["-O", "random_state=3"], ["set by --seed"]),
                        (["-O", "gp.n_estimators=3"], ["'gp' is not among"])):
        rc, _, err = _run(["fit", "-b", "nb201-cifar10", "-t", TARGET, "-p", "rf", "-n", "30", *opts,
                           "-o", str(files["tmp"] / "x.nspm")], capsys)
        assert rc == 2 and all(w in err for w in words), err


def test_evaluate_takes_options_per_predictor(tmp_path, capsys):
    out = tmp_path / "ev"
    base = ["evaluate", "-b", "nb201-cifar10", "-t", TARGET, "--train-sizes", "20", "--seeds", "1",
            "--test-size", "200", "--no-progress", "--out", str(out)]
    rc, _, err = _run([*base, "-p", "rf,xgb", "-O", "n_estimators=5"], capsys)
    assert rc == 2 and "say which one" in err and "rf.n_estimators" in err
    rc, _, _ = _run([*base, "-p", "rf,transfer", "-O", "rf.n_estimators=5", "-O", "transfer.shrink=0",
                     "-O", "transfer.source=nb201-cifar10:baseline_accuracy"], capsys)
    assert rc == 0
    table = pd.read_csv(out / "results.csv")
    assert set(table["predictor"]) == {"rf", "transfer"}
    # the source is the target itself and shrink=0 (a number where the default is the text "cv")
    # leaves the source's ranking alone: exact up to ties
    tau = table.set_index("predictor")["kendall_tau"]
    assert tau["transfer"] > 0.99 and tau["rf"] < 0.9

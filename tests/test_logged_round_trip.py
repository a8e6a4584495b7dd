"""Logged results keep everything on the way out and back in: directions (sidecar), which
columns are bookkeeping, exact float values in every format; and bad files get errors that name
the file, the row and the expected form."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from naspredict import data
from naspredict.cli import main
from naspredict.data.logged import sidecar_path

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_directions_and_exact_values_survive_a_round_trip(tmp_path, suffix):
    cora = data.load("nbgraph-cora").subset(range(200))
    path = data.write_results(cora, tmp_path / f"cora{suffix}")
    assert sidecar_path(path).exists()
    back = data.read_results(path, "nbgraph")
    assert back.higher_is_better == cora.higher_is_better and back.higher_is_better["latency"] is False
    for m in cora.metric_names:  # bit-for-bit, not merely close
        np.testing.assert_array_equal(back.values(m), cora.values(m))
    assert list(back.top("latency", 3)["latency"]) == list(cora.top("latency", 3)["latency"])
    # an explicit direction overrides the sidecar's
    assert data.read_results(path, "nbgraph", higher_is_better={"latency": True}).higher_is_better["latency"]


def test_export_reloads_exactly_with_directions_and_no_bookkeeping_metrics(tmp_path):
    db = str(tmp_path / "s.db")
    assert main(["search", "-b", "nbgraph-cora", "-t", "valid_perf,latency", "-d", "max,min", "-s", "random",
                 "-n", "12", "--store", db, "--out", str(tmp_path), "--no-progress"]) == 0
    from naspredict.store import ResultsStore
    with ResultsStore(db) as store:
        name = store.runs()["name"].iloc[0]
        frame = store.frame(name)
    for suffix in (".csv", ".jsonl", ".parquet"):
        out = tmp_path / f"run{suffix}"
        assert main(["export", name, "--store", db, "-o", str(out)]) == 0
        back = data.read_results(out, "nbgraph")
        assert "cost" not in back.metric_names and "trial" not in back.metric_names
        assert back.higher_is_better["latency"] is False and back.higher_is_better["valid_perf"] is True
        assert sorted(back.metric_names) == ["latency", "valid_perf"]
        np.testing.assert_array_equal(back.values("latency"), frame["latency"].to_numpy(float))


def test_export_warns_about_metrics_of_unknown_direction(tmp_path):
    from naspredict.search import make_strategy
    from naspredict.store import ResultsStore
    from naspredict.trials import Result

    class Ev:
        def evaluate(self, arch, fidelity=None, report=None):
            return Result({"score": 1.0, "mystery": 2.0}, cost=1.0)

    s = make_strategy("random", "nb201", "score", "max", seed=0)
    with ResultsStore(tmp_path / "s.db") as store:
        s.run(Ev(), 3, store=store, run_name="r", progress=False)
        with pytest.warns(UserWarning, match="direction of mystery is unknown"):
            store.export("r", tmp_path / "r.csv")
    back = data.read_results(tmp_path / "r.csv", "nb201")
    assert back.higher_is_better == {"score": True, "mystery": True}


def test_bad_files_name_the_file_row_and_form(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match=r"empty\.csv is empty; expected a header row"):
        data.read_results(empty, "nb201")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("arch,acc\n".encode() + "caf\xe9,1\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin\.csv is not UTF-8 text"):
        data.read_results(latin, "nb201")
    lines = tmp_path / "bad.jsonl"
    lines.write_text(json.dumps({"arch": BEST, "acc": 1.0}) + "\n{not json\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl, line 2: not valid JSON"):
        data.read_results(lines, "nb201")
    arr = tmp_path / "arr.jsonl"
    arr.write_text("[1, 2]\n")
    with pytest.raises(ValueError, match=r"line 1: a JSON list, expected an object"):
        data.read_results(arr, "nb201")
    curve = tmp_path / "curve.csv"
    pd.DataFrame({"arch": [BEST, BEST], "acc": [1.0, 2.0], "curve": ["[1, 2]", "[1, oops]"]}).to_csv(curve, index=False)
    with pytest.raises(ValueError, match=r"curve\.csv, row 1: column 'curve' holds .* not a JSON list"):
        data.read_results(curve, "nb201")
    curve2 = tmp_path / "curve2.jsonl"
    curve2.write_text(json.dumps({"arch": BEST, "acc": 1.0, "curve": ["a", "b"]}) + "\n")
    with pytest.raises(ValueError, match=r"row 0: column 'curve' holds \['a', 'b'\], not a list of numbers"):
        data.read_results(curve2, "nb201")
    with pytest.raises(ValueError, match="is a folder"):
        data.read_results(tmp_path, "nb201")
    side = tmp_path / "ok.csv"
    pd.DataFrame({"arch": [BEST], "acc": [1.0]}).to_csv(side, index=False)
    sidecar_path(side).write_text("{oops")
    with pytest.raises(ValueError, match="naspredict.json is not valid JSON"):
        data.read_results(side, "nb201")

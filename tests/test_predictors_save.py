"""Save / load of fitted predictors: every registered predictor reloads in a fresh process with
bitwise-identical predictions; files that are not ours, newer, truncated or damaged are refused."""
from __future__ import annotations

import io
import json
from importlib import metadata
import os
import pickle
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from naspredict import data
from naspredict.predictors import load_predictor, make, names, read_header, save_predictor
from naspredict.predictors.io import FORMAT_VERSION, MAGIC
from naspredict.predictors.nao import NAOPredictor
from naspredict.predictors.trees import RandomForestPredictor
from naspredict.predictors.mlp import MLPEnsemblePredictor

ROOT = Path(__file__).resolve().parents[1]
TINY_NAO = dict(embedding_size=8, hidden_size=16, mlp_hidden=16, epochs=2, min_steps=20)
#: test-sized settings (tiny nets, few steps) and the table each predictor is fitted on:
#: table, target, extra fit/predict data
SETTINGS = {
    "gp": ({"n_iter": 10, "calibrate_std": None}, "nb201-cifar10"),
    "gcn-blr": ({"hidden": 16, "n_layers": 2, "epochs": 2, "min_steps": 20, "blr_iter": 10}, "nb201-cifar10"),
    "gcn": ({"hidden": 16, "n_layers": 2, "epochs": 2, "min_steps": 20}, "nb201-cifar10"),
    "nao": ({**TINY_NAO, "n_ensemble": 2}, "nb201-cifar10"),
    "semi": ({"base": NAOPredictor(**TINY_NAO), "rounds": 1, "pool_size": 30}, "nb201-cifar10"),
    "lc-srm": ({"k": 10, "gamma": 0.01, "n_bootstrap": 3}, "nb201-curves"),
    "mlp-ensemble": ({"epochs": 5, "n_members": 2, "hidden": 16}, "nb201-cifar10"),
    "rf": ({"n_estimators": 20}, "nb201-cifar10"),
    "xgb": ({"n_estimators": 20}, "nb201-cifar10"),
    "ensemble": ({"members": [RandomForestPredictor(n_estimators=10),
                              MLPEnsemblePredictor(epochs=5, n_members=2, hidden=16)]}, "nb201-cifar10"),
    "synflow": ({}, "nb201-curves"),   # the default table lookup finds synflow there
    "jacov": ({}, "nb201-zc"),
    "params": ({}, "nb201-zc"),
    "flops": ({}, "nb201-zc"),
    "botorch-gp": ({"fit_maxiter": 20}, "nb201-cifar10"),
    "mtgp": ({"n_iter": 10}, "nb201-cifar10"),
    "transfer": ({"base": RandomForestPredictor(n_estimators=10), "source": "nb201-12epoch:cifar10-val"},
                 "nb201-cifar10"),
}
TARGETS = {"nb201-cifar10": "baseline_accuracy", "nb201-curves": "final_val_accuracy",
           "nb201-zc": "val_accuracy"}
N_TRAIN, N_TEST = 30, 20

# The fresh process: load every saved model, predict its test archs, write the predictions.  It
# then re-saves one model as a GPU machine would (every tensor tagged cuda:0, through torch's
# serialisation registry) for the CPU-mapping test; this process never imports a fake tagger.
FRESH = textwrap.dedent("""
    import json, sys
    import numpy as np
    from naspredict.torch_utils import set_threads
    set_threads(1, import_torch=True)   # as the parent test process (tests/conftest.py)
    from naspredict.predictors import load_predictor, save_predictor
    jobs = json.load(open(sys.argv[1]))
    out = {}
    for name, job in jobs["models"].items():
        m = load_predictor(job["path"])
        archs = [m.space_.from_str(s) for s in job["archs"]]
        kw = {"curves": np.asarray(job["curves"])} if job["curves"] is not None else {}
        if m.supports_std:
            out[name + "/mean"], out[name + "/std"] = m.predict(archs, return_std=True, **kw)
        else:
            out[name + "/mean"] = m.predict(archs, **kw)
    np.savez(jobs["out"], **out)
    import torch
    torch.serialization.register_package(
        0, lambda s: "cuda:0" if s.device.type == "cpu" else None, lambda obj, loc: None)
    gpu = jobs["gpu"]
    save_predictor(load_predictor(gpu["src"]), gpu["dst"], metadata={"target": "baseline_accuracy"})
""")


def _table(name: str):
    """The table, or None when its data file (shared data) is absent."""
    try:
        return data.load(name)
    except FileNotFoundError:
        return None


def _predict(model, archs, curves):
    kw = {} if curves is None else {"curves": curves}
    if model.supports_std:
        return model.predict(archs, return_std=True, **kw)
    return (model.predict(archs, **kw),)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Every registered predictor fitted on a small real sample, saved; its predictions on
    held-out archs in this process, and the same models' predictions from a fresh process."""
    tmp = tmp_path_factory.mktemp("saved")
    tables = {t: _table(t) for t in TARGETS}
    models, jobs, parent = {}, {}, {}
    for name in names():
        params, table = SETTINGS[name]
        bench = tables[table]
        if bench is None:
            continue
        rows = np.random.default_rng(0).permutation(len(bench))[:N_TRAIN + N_TEST]
        tr, te = rows[:N_TRAIN], rows[N_TRAIN:]
        y = bench.values(TARGETS[table])
        A, T = [bench.archs[i] for i in tr], [bench.archs[i] for i in te]
        curves_tr = curves_te = None
        if name == "lc-srm":
            curves_tr, curves_te = bench.curves["val"][tr], bench.curves["val"][te]
        model = make(name, random_state=1, **params)
        model.fit(A, y[tr], **({} if curves_tr is None else {"curves": curves_tr}))
        path = save_predictor(model, tmp / f"{name}.nspm",
                              metadata={"target": TARGETS[table], "direction": "max",
                                        "source": {"benchmark": table}})
        models[name] = model
        parent[name] = _predict(model, T, curves_te)
        jobs[name] = {"path": str(path), "archs": [bench.space.to_str(a) for a in T],
                      "curves": None if curves_te is None else curves_te.tolist()}
    spec = {"models": jobs, "out": str(tmp / "fresh.npz"),
            "gpu": {"src": str(tmp / "gcn.nspm"), "dst": str(tmp / "gcn-gpu.nspm")}}
    (tmp / "jobs.json").write_text(json.dumps(spec))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", FRESH, str(tmp / "jobs.json")], cwd=tmp, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    fresh = dict(np.load(tmp / "fresh.npz"))
    return {"tmp": tmp, "models": models, "parent": parent, "fresh": fresh, "jobs": jobs}


def test_every_registered_predictor_has_settings():
    assert set(SETTINGS) == set(names()), "give every new predictor test settings here"


@pytest.mark.parametrize("name", names())
def test_fresh_process_predictions_are_bitwise_identical(name, saved):
    if name not in saved["parent"]:
        pytest.skip(f"the table {SETTINGS[name][1]} of {name} is absent (shared data)")
    parent = saved["parent"][name]
    fresh = saved["fresh"]
    np.testing.assert_array_equal(fresh[name + "/mean"], parent[0])
    assert np.isfinite(parent[0]).all() and len(parent[0]) == N_TEST
    if len(parent) == 2:
        np.testing.assert_array_equal(fresh[name + "/std"], parent[1])
    head = read_header(saved["jobs"][name]["path"])
    model = saved["models"][name]
    assert head["format_version"] == FORMAT_VERSION
    assert head["space"] == "nb201" and head["space_id"] == model.space_.space_id
    assert head["train_size"] == N_TRAIN and head["direction"] == "max"
    assert head["class"].endswith(type(model).__name__)
    assert head["supports_std"] == model.supports_std
    assert head["versions"]["torch"] == metadata.version("torch")


def test_registry_name_in_header(saved):
    for name in ("gp", "rf", "nao", "jacov", "flops"):
        if name in saved["jobs"]:
            assert read_header(saved["jobs"][name]["path"])["predictor"] == name


def test_saved_on_gpu_loads_on_cpu(saved):
    """A file whose tensors are all tagged cuda:0 (as one saved on a GPU machine) loads here
    with every tensor on the CPU and the same predictions."""
    path = saved["tmp"] / "gcn-gpu.nspm"
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[len(MAGIC):len(MAGIC) + 8])
    payload = raw[len(MAGIC) + 8 + n:]
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):  # the file really asks for a GPU
            torch.load(io.BytesIO(payload), weights_only=False)
    model = load_predictor(path)
    assert all(p.device.type == "cpu" for p in model.net_.parameters())
    T = [model.space_.from_str(s) for s in saved["jobs"]["gcn"]["archs"]]
    np.testing.assert_array_equal(model.predict(T), saved["parent"]["gcn"][0])


# -- refused files ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(saved):
    return Path(saved["jobs"]["rf"]["path"])


def test_not_ours_refused(small, tmp_path):
    text = tmp_path / "archs.txt"
    text.write_text("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|skip_connect~2|\n")
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps(load_predictor(small)))
    empty = tmp_path / "empty.nspm"
    empty.write_bytes(b"")
    for p in (text, plain, empty):
        with pytest.raises(ValueError, match=rf"{p.name} is not a naspredict model file.*naspredict fit"):
            load_predictor(p)
    with pytest.raises(ValueError, match="is a folder"):
        load_predictor(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_predictor(tmp_path / "missing.nspm")


def test_truncated_and_damaged_refused(small, tmp_path):
    raw = small.read_bytes()
    (n,) = struct.unpack("<Q", raw[len(MAGIC):len(MAGIC) + 8])
    cases = {
        "cut_in_payload": (raw[:len(raw) // 2], "truncated.*interrupted copy"),
        "cut_in_header": (raw[:len(MAGIC) + 8 + n // 2], "truncated"),
        "cut_in_length": (raw[:len(MAGIC) + 3], "truncated"),
        "extra_bytes": (raw + b"\0", "longer than it should be"),
        "flipped_byte": (raw[:-10] + bytes([raw[-10] ^ 0xFF]) + raw[-9:], "damaged.*checksum"),
    }
    for label, (blob, msg) in cases.items():
        p = tmp_path / f"{label}.nspm"
        p.write_bytes(blob)
        with pytest.raises(ValueError, match=msg):
            load_predictor(p)
        if label == "flipped_byte":
            assert read_header(p)["space"] == "nb201"  # the header alone is still readable


def test_newer_format_refused(small, tmp_path):
    raw = small.read_bytes()
    (n,) = struct.unpack("<Q", raw[len(MAGIC):len(MAGIC) + 8])
    head = json.loads(raw[len(MAGIC) + 8:len(MAGIC) + 8 + n])
    head["format_version"] = FORMAT_VERSION + 1
    hb = json.dumps(head).encode()
    p = tmp_path / "newer.nspm"
    p.write_bytes(MAGIC + struct.pack("<Q", len(hb)) + hb + raw[len(MAGIC) + 8 + n:])
    with pytest.raises(ValueError, match=rf"format {FORMAT_VERSION + 1} by a newer naspredict.*upgrade"):
        load_predictor(p)


def test_save_refusals_and_atomic_write(small, tmp_path, monkeypatch):
    model = load_predictor(small)
    with pytest.raises(ValueError, match="not fitted"):
        save_predictor(make("rf"), tmp_path / "x.nspm")
    with pytest.raises(ValueError, match="naspredict predictors"):
        save_predictor(object(), tmp_path / "x.nspm")
    with pytest.raises(ValueError, match="is a folder"):
        save_predictor(model, tmp_path)
    with pytest.raises(ValueError, match="JSON"):
        save_predictor(model, tmp_path / "x.nspm", metadata={"source": object()})
    with pytest.raises(ValueError, match="direction"):
        save_predictor(model, tmp_path / "x.nspm", metadata={"direction": "up"})
    with pytest.raises(ValueError, match="may not set"):
        save_predictor(model, tmp_path / "x.nspm", metadata={"format_version": 0})
    assert not list(tmp_path.iterdir())
    # an interrupted save leaves the old file whole and no temporary behind
    target = tmp_path / "model.nspm"
    save_predictor(model, target, metadata={"target": "old"})
    before = target.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        save_predictor(model, target, metadata={"target": "new"})
    monkeypatch.undo()
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["model.nspm"]
    assert read_header(target)["target"] == "old"


def test_other_library_versions_warn(small, tmp_path):
    raw = small.read_bytes()
    (n,) = struct.unpack("<Q", raw[len(MAGIC):len(MAGIC) + 8])
    head = json.loads(raw[len(MAGIC) + 8:len(MAGIC) + 8 + n])
    head["versions"]["scikit-learn"] = "0.1"
    hb = json.dumps(head).encode()
    p = tmp_path / "old.nspm"
    p.write_bytes(MAGIC + struct.pack("<Q", len(hb)) + hb + raw[len(MAGIC) + 8 + n:])
    with pytest.warns(UserWarning, match="saved with scikit-learn 0.1"):
        model = load_predictor(p)
    assert model.n_train_ == N_TRAIN

"""Local image / graph data sets for the training evaluator: loading, splits, loader, augment.

The Fashion-MNIST tests read the real files that Debian's ``dataset-fashion-mnist`` installs
and skip (saying so) only where /usr/share/datasets/fashion-mnist is absent.  Everything else
writes its own tiny files in the real formats.
"""
from __future__ import annotations

import gzip
import pickle
import random
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from naspredict.training.data import (ImageData, TensorLoader, load_images, read_idx,
                                      stratified_order)

FMNIST = Path("/usr/share/datasets/fashion-mnist")


def _fmnist_or_skip():
    if not (FMNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"{FMNIST} is absent (apt-get install dataset-fashion-mnist to run this test)")


@pytest.fixture(scope="module")
def fmnist():
    _fmnist_or_skip()
    return load_images("fashion-mnist", seed=0, val_fraction=0.1)


# ---------------------------------------------------------------------------------------------
# Fashion-MNIST, the real files
# ---------------------------------------------------------------------------------------------
def test_fashion_mnist_shapes_labels_and_balance(fmnist):
    d = fmnist
    assert isinstance(d, ImageData)
    assert d.input_shape == (1, 28, 28) and d.n_classes == 10 and d.name == "fashion-mnist"
    assert d.sizes == {"train": 54000, "val": 6000, "test": 10000}
    for x, y in (d.train, d.val, d.test):
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert x.shape[1:] == (1, 28, 28) and len(x) == len(y)
    # 60,000 training images, 6,000 per class; 10,000 test images, 1,000 per class
    all_train = torch.cat([d.train[1], d.val[1]])
    assert torch.equal(all_train.bincount(minlength=10), torch.full((10,), 6000))
    assert torch.equal(d.test[1].bincount(minlength=10), torch.full((10,), 1000))
    # stratified validation split: 600 per class, up to one
    assert (d.val[1].bincount(minlength=10) - 600).abs().max() <= 1
    # the known Fashion-MNIST pixel statistics (the train split without validation: ~ the same)
    assert d.mean[0] == pytest.approx(0.2860, abs=2e-3) and d.std[0] == pytest.approx(0.3530, abs=2e-3)
    x = d.train[0]
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1) < 1e-3
    # the test split is normalised with the train statistics, so it is only roughly 0/1
    assert abs(float(d.test[0].mean())) < 0.05
    # pixels are the raw bytes / 255: the first test image is an ankle boot (label 9)
    raw = read_idx(FMNIST / "t10k-images-idx3-ubyte.gz")
    assert raw.shape == (10000, 28, 28) and raw.dtype == np.uint8
    assert int(d.test[1][0]) == 9
    back = d.denormalize(d.test[0][:1])[0, 0]
    assert torch.allclose(back, torch.from_numpy(raw[0].astype(np.float32) / 255), atol=1e-5)


def test_fashion_mnist_splits_deterministic_disjoint_and_seeded(fmnist):
    a = fmnist
    b = load_images("fashion-mnist", seed=0, val_fraction=0.1)
    c = load_images("fashion-mnist", seed=1, val_fraction=0.1)
    assert torch.equal(a.val[0], b.val[0]) and torch.equal(a.train[1], b.train[1])
    assert not torch.equal(a.val[0], c.val[0])
    ia, ic = a.info["indices"], c.info["indices"]
    assert len(np.intersect1d(ia["val"], ia["train"])) == 0
    assert len(np.union1d(ia["val"], ia["train"])) == 60000  # together: the training file
    assert len(np.intersect1d(ia["val"], ic["val"])) < 1200  # another seed: another split
    # the pixels follow the indices: the validation images are the file's images at those rows
    raw = read_idx(FMNIST / "train-images-idx3-ubyte.gz")
    pix = (a.denormalize(a.val[0][:50])[:, 0] * 255).round().to(torch.uint8).numpy()
    assert (pix == raw[ia["val"][:50]]).all()


def test_fashion_mnist_fraction_nesting_and_resolution(fmnist):
    small = load_images("fashion-mnist", seed=0, data_fraction=0.1, normalize=False)
    big = load_images("fashion-mnist", seed=0, data_fraction=0.3, normalize=False)
    full = load_images("fashion-mnist", seed=0, normalize=False)
    assert small.sizes["train"] == 5400 and big.sizes["train"] == 16200
    assert torch.equal(small.train[1].bincount(), torch.full((10,), 540))  # stratified
    # the validation and test splits do not move with data_fraction
    assert torch.equal(small.val[0], full.val[0]) and small.sizes["test"] == 10000
    # nested: the 10 % sample is inside the 30 % sample (the samples keep the file's order)
    s, b, f = (set(d.info["indices"]["train"].tolist()) for d in (small, big, full))
    assert s < b < f
    other = set(load_images("fashion-mnist", seed=1, data_fraction=0.1).info["indices"]["train"].tolist())
    assert len(s - other) > 1000
    # the pixels are those of the rows named: the sample's images are a subset of the larger's
    assert torch.equal(small.train[0], full.train[0][np.searchsorted(full.info["indices"]["train"],
                                                                     small.info["indices"]["train"])])
    r = load_images("fashion-mnist", seed=0, data_fraction=0.05, resolution=16, normalize=False)
    assert r.input_shape == (1, 16, 16)
    assert all(s[0].shape[1:] == (1, 16, 16) for s in (r.train, r.val, r.test))
    # antialiased bilinear downsizing keeps the mean brightness
    assert float(r.test[0].mean()) == pytest.approx(float(full.test[0].mean()), abs=2e-3)
    up = load_images("fashion-mnist", seed=0, data_fraction=0.01, resolution=32)
    assert up.input_shape == (1, 32, 32)


# ---------------------------------------------------------------------------------------------
# the idx format
# ---------------------------------------------------------------------------------------------
def _write_idx(path: Path, a: np.ndarray, *, gz: bool = True) -> Path:
    code = {np.uint8: 0x08, np.int32: 0x0C}[a.dtype.type]
    body = struct.pack(">BBBB", 0, 0, code, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape)
    body += a.astype(a.dtype.newbyteorder(">")).tobytes()
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(body)
    else:
        path.write_bytes(body)
    return path


def _idx_folder(tmp: Path, n_train=40, n_test=20, gz=True) -> Path:
    rng = np.random.default_rng(5)
    tmp.mkdir(parents=True, exist_ok=True)
    sfx = ".gz" if gz else ""
    for split, n in (("train", n_train), ("t10k", n_test)):
        _write_idx(tmp / f"{split}-images-idx3-ubyte{sfx}",
                   rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), gz=gz)
        _write_idx(tmp / f"{split}-labels-idx1-ubyte{sfx}",
                   (np.arange(n) % 10).astype(np.uint8), gz=gz)
    return tmp


def test_idx_root_plain_and_gz(tmp_path):
    for gz in (True, False):
        folder = _idx_folder(tmp_path / f"gz{gz}", gz=gz)
        d = load_images("fashion-mnist", root=folder, val_fraction=0.25, normalize=False)
        assert d.sizes == {"train": 30, "val": 10, "test": 20} and d.source == str(folder)
        raw = read_idx(next(folder.glob("t10k-images*")))
        assert torch.allclose(d.test[0][:, 0] * 255, torch.from_numpy(raw).float(), atol=1e-3)
    # a folder path works too
    assert load_images(str(tmp_path / "gzTrue")).sizes["test"] == 20


def test_idx_garbled_and_truncated_files(tmp_path):
    folder = _idx_folder(tmp_path / "f", gz=False)
    p = folder / "train-images-idx3-ubyte"
    good = p.read_bytes()
    p.write_bytes(good[:-7])  # truncated
    with pytest.raises(ValueError, match="truncated"):
        load_images("fashion-mnist", root=folder)
    p.write_bytes(b"\x12\x34" + good[2:])  # garbled magic
    with pytest.raises(ValueError, match="magic"):
        read_idx(p)
    p.write_bytes(good + b"\x00")
    with pytest.raises(ValueError, match="too long"):
        read_idx(p)
    g = tmp_path / "x.gz"
    g.write_bytes(gzip.compress(good)[:100])  # a cut gzip stream
    with pytest.raises(ValueError, match="truncated or not gzip"):
        read_idx(g)
    # labels out of 0..9
    p.write_bytes(good)
    _write_idx(folder / "t10k-labels-idx1-ubyte", np.full(20, 11, np.uint8), gz=False)
    with pytest.raises(ValueError, match="labels must be 0..9"):
        load_images("fashion-mnist", root=folder)


def test_missing_folder_message(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        load_images("fashion-mnist", root=tmp_path / "nowhere")
    msg = str(e.value)
    assert "nowhere" in msg and "train-images-idx3-ubyte" in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "root=" in msg
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py.*root="):
        load_images("cifar10", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="nothere.npz"):
        load_images(tmp_path / "nothere.npz")


def test_argument_validation():
    for kw in (dict(val_fraction=1.0), dict(val_fraction=-0.1), dict(data_fraction=0),
               dict(data_fraction=1.5), dict(test_fraction=0), dict(resolution=0),
               dict(seed=-1), dict(layout="CHW")):
        with pytest.raises(ValueError):
            load_images("digits", **kw)
    with pytest.raises(ValueError, match="known names are fashion-mnist, mnist, digits, cifar10"):
        load_images("imagenet")


# ---------------------------------------------------------------------------------------------
# digits (scikit-learn)
# ---------------------------------------------------------------------------------------------
def test_digits_splits_deterministic_by_seed():
    a = load_images("digits", seed=3)
    b = load_images("digits", seed=3)
    c = load_images("digits", seed=4)
    assert a.input_shape == (1, 8, 8) and a.n_classes == 10
    assert sum(a.sizes.values()) == 1797 and a.sizes["test"] == round(0.2 * 1797)
    assert torch.equal(a.test[0], b.test[0]) and torch.equal(a.val[1], b.val[1])
    assert not torch.equal(a.test[1], c.test[1])
    # disjoint: the three splits partition the 1,797 samples
    idx = a.info["indices"]
    parts = [set(idx[k].tolist()) for k in ("train", "val", "test")]
    assert sum(map(len, parts)) == 1797 and len(set().union(*parts)) == 1797
    # and hold those samples' pixels and labels
    from sklearn.datasets import load_digits
    raw = load_digits()
    for k in ("train", "val", "test"):
        x, y = a.split(k)
        assert torch.equal(y, torch.from_numpy(raw.target[idx[k]]))
        assert torch.allclose(a.denormalize(x)[:, 0] * 16, torch.from_numpy(raw.images[idx[k]]).float(),
                              atol=1e-4)
    # stratified test split
    assert np.abs(a.test[1].bincount().numpy() - 0.2 * np.bincount(raw.target)).max() <= 1


def test_global_rngs_untouched():
    s_np, s_py, s_t = np.random.get_state()[1].copy(), random.getstate(), torch.get_rng_state()
    d = load_images("digits", seed=1, data_fraction=0.5)
    list(TensorLoader(*d.train, 64, shuffle=True, seed=0))
    assert (np.random.get_state()[1] == s_np).all() and random.getstate() == s_py
    assert torch.equal(torch.get_rng_state(), s_t)


def test_stratified_order_prefixes():
    y = np.repeat(np.arange(5), [100, 50, 30, 15, 5])
    order = stratified_order(y, np.random.default_rng(0))
    assert sorted(order.tolist()) == list(range(len(y)))
    for k in (10, 40, 77, 150):
        counts = np.bincount(y[order[:k]], minlength=5)
        assert np.abs(counts - k * np.bincount(y) / len(y)).max() <= 1


# ---------------------------------------------------------------------------------------------
# the loader
# ---------------------------------------------------------------------------------------------
def test_loader_covers_every_sample_once_per_epoch():
    x = torch.arange(103, dtype=torch.float32).view(103, 1, 1, 1)
    y = torch.arange(103)
    ld = TensorLoader(x, y, 10, shuffle=True, seed=7)
    assert len(ld) == 11
    epochs = []
    for _ in range(2):
        batches = list(ld)
        assert len(batches) == 11 and [len(b[1]) for b in batches] == [10] * 10 + [3]
        seen = torch.cat([b[1] for b in batches])
        assert sorted(seen.tolist()) == list(range(103))
        assert all(torch.equal(xb.view(-1).long(), yb) for xb, yb in batches)  # x, y aligned
        epochs.append(seen)
    assert not torch.equal(epochs[0], epochs[1])  # a new order each epoch
    again = torch.cat([b[1] for b in TensorLoader(x, y, 10, shuffle=True, seed=7)])
    assert torch.equal(again, epochs[0])  # deterministic by seed
    other = torch.cat([b[1] for b in TensorLoader(x, y, 10, shuffle=True, seed=8)])
    assert not torch.equal(other, epochs[0])
    g = torch.Generator().manual_seed(7)
    assert torch.equal(torch.cat([b[1] for b in TensorLoader(x, y, 10, generator=g)]), epochs[0])
    dl = TensorLoader(x, y, 10, shuffle=True, seed=0, drop_last=True)
    assert len(dl) == 10 and sum(len(b[1]) for b in dl) == 100
    seq = list(TensorLoader(x, y, 50, shuffle=False))
    assert torch.equal(torch.cat([b[1] for b in seq]), y) and len(seq) == 3
    with pytest.raises(ValueError):
        TensorLoader(x, y[:5], 10)
    with pytest.raises(ValueError):
        TensorLoader(x, y, 0)

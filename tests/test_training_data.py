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
    for kw, msg in ((dict(val_fraction=1.0), r"val_fraction must be in \[0, 1\)"),
                    (dict(val_fraction=-0.1), "val_fraction"),
                    (dict(data_fraction=0), r"data_fraction must be in \(0, 1\]"),
                    (dict(data_fraction=1.5), "data_fraction"), (dict(test_fraction=0), "test_fraction"),
                    (dict(resolution=0), "resolution"), (dict(seed=-1), "seed"),
                    (dict(layout="CHW"), "layout"), (dict(root="/tmp"), "root= does not apply")):
        with pytest.raises(ValueError, match=msg):
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
    assert not np.array_equal(a.info["indices"]["test"], c.info["indices"]["test"])
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


# ---------------------------------------------------------------------------------------------
# CIFAR python pickles, written here in exactly the released format
# ---------------------------------------------------------------------------------------------
class _Py2Pickler(pickle._Pickler):
    """Writes what Python 2's cPickle wrote for the CIFAR releases: every str/bytes as a
    (SHORT_)BINSTRING, numpy arrays via numpy.core.multiarray._reconstruct."""
    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes(self, obj):
        n = len(obj)
        self.write((pickle.SHORT_BINSTRING + bytes([n]) if n < 256
                    else pickle.BINSTRING + struct.pack("<i", n)) + obj)
        self.memoize(obj)

    def save_str(self, obj):
        self.save_bytes(obj.encode("ascii"))

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str


def _py2_dump(obj, path: Path) -> None:
    import io
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    path.write_bytes(buf.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n"))


def _cifar_rows(rng, n):
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8)


def _write_cifar10(folder: Path, per_batch=6, n_test=10) -> Path:
    """cifar-10-batches-py: data_batch_1..5, test_batch, batches.meta: pickled dicts with
    bytes keys, as Python 2 wrote them (data_batch_2 as a Python 3 re-save, protocol 5);
    b"data" N x 3072 uint8 = the red, green and blue 32 x 32 planes, each row-major;
    b"labels" a list of ints."""
    d = folder / "cifar-10-batches-py"
    d.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i, fname in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        n = n_test if fname == "test_batch" else per_batch
        data = _cifar_rows(rng, n)
        if i == 0:  # a known pixel: image 0, green channel, row 5, column 7
            data[0, 1 * 1024 + 5 * 32 + 7] = 201
        batch = {b"batch_label": f"batch {i}".encode(), b"labels": [int(v) for v in np.arange(n) % 10],
                 b"data": data, b"filenames": [f"img{j}.png".encode() for j in range(n)]}
        if fname == "data_batch_2":
            (d / fname).write_bytes(pickle.dumps(batch, protocol=5))
        else:
            _py2_dump(batch, d / fname)
    _py2_dump({b"label_names": [f"c{k}".encode() for k in range(10)],
               b"num_cases_per_batch": per_batch, b"num_vis": 3072}, d / "batches.meta")
    return d


def test_cifar10_pickle_layout_round_trips(tmp_path):
    d = _write_cifar10(tmp_path)
    data = load_images("cifar10", root=tmp_path, val_fraction=0.0, normalize=False)
    assert data.input_shape == (3, 32, 32) and data.n_classes == 10
    assert data.sizes == {"train": 30, "val": 0, "test": 10}
    assert data.source == str(d)
    x = data.train[0]
    assert float(x[0, 1, 5, 7]) * 255 == pytest.approx(201)
    # every pixel: channel plane c, row r, column k of row i is data[i, c*1024 + r*32 + k]
    with open(d / "data_batch_1", "rb") as f:
        raw = pickle.load(f, encoding="bytes")[b"data"]
    c, r, k = 2, 31, 0
    assert torch.allclose(x[:6, c, r, k] * 255, torch.from_numpy(raw[:, c * 1024 + r * 32 + k]).float())
    assert torch.equal(data.train[1][:6], torch.arange(6))
    # the folder itself works as root, as does the folder path; normalised per channel
    n = load_images("cifar10", root=d, val_fraction=0.2)
    assert n.sizes["val"] == 6 and len(n.mean) == 3
    assert torch.allclose(n.train[0].mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(n.train[0].std(dim=(0, 2, 3), correction=0), torch.ones(3), atol=1e-4)
    assert load_images(d).name == "cifar10"


def test_cifar100_pickle(tmp_path):
    d = tmp_path / "cifar-100-python"
    d.mkdir()
    rng = np.random.default_rng(2)
    for fname, n in (("train", 200), ("test", 100)):
        data = _cifar_rows(rng, n)
        data[3, 2 * 1024 + 0 * 32 + 31] = 17  # image 3, blue, row 0, last column
        fine = [int(v) for v in np.arange(n) % 100]
        _py2_dump({b"filenames": [b"x.png"] * n, b"batch_label": b"training batch 1 of 1",
                   b"fine_labels": fine, b"coarse_labels": [v // 5 for v in fine],
                   b"data": data}, d / fname)
    _py2_dump({b"fine_label_names": [b"a"] * 100, b"coarse_label_names": [b"b"] * 20}, d / "meta")
    data = load_images("cifar100", root=tmp_path, val_fraction=0.0, normalize=False)
    assert data.n_classes == 100 and data.sizes == {"train": 200, "val": 0, "test": 100}
    assert float(data.train[0][3, 2, 0, 31]) * 255 == pytest.approx(17)
    assert float(data.test[0][3, 2, 0, 31]) * 255 == pytest.approx(17)
    assert torch.equal(data.test[1], torch.arange(100))
    s = load_images("cifar100", root=tmp_path, val_fraction=0.5, resolution=16)
    assert s.input_shape == (3, 16, 16)
    assert (s.val[1].bincount(minlength=100) == 1).all()  # stratified: one of the two per class


def test_cifar_pickle_refuses_code(tmp_path):
    d = _write_cifar10(tmp_path)

    import os

    class Evil:  # os.system: a callable nothing in the test session replaces (Ray swaps print)
        def __reduce__(self):
            return (os.system, ("echo pwned",))
    with open(d / "data_batch_3", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f, protocol=2)
    with pytest.raises(ValueError, match=r"refusing to load (posix|os|nt)\.system"):
        load_images("cifar10", root=tmp_path)


# ---------------------------------------------------------------------------------------------
# .npz files
# ---------------------------------------------------------------------------------------------
def test_npz_layouts(tmp_path):
    rng = np.random.default_rng(3)
    y = np.arange(40) % 4
    base = rng.integers(0, 256, (40, 3, 6, 5), dtype=np.uint8)  # N C H W
    base[0, 2, 4, 1] = 99
    cases = {"nchw": base, "nhwc": base.transpose(0, 2, 3, 1)}
    for tag, arr in cases.items():
        np.savez(tmp_path / f"{tag}.npz", x=arr, y=y)
        d = load_images(tmp_path / f"{tag}.npz", val_fraction=0.0, test_fraction=0.25,
                        normalize=False)
        assert d.input_shape == (3, 6, 5) and d.n_classes == 4 and d.name == tag
        assert d.sizes == {"train": 30, "val": 0, "test": 10}
        rebuilt = torch.zeros(40, 3, 6, 5)
        rebuilt[d.info["indices"]["train"]] = d.train[0]
        rebuilt[d.info["indices"]["test"]] = d.test[0]
        assert torch.allclose(rebuilt * 255, torch.from_numpy(base).float(), atol=1e-3)
    # N x H x W: one channel; float pixels taken as they are; a shipped test split
    xf = rng.random((30, 7, 7)).astype(np.float32)
    np.savez(tmp_path / "gray.npz", x=xf, y=np.arange(30) % 3, x_test=xf[:9], y_test=np.arange(9) % 3)
    g = load_images(str(tmp_path / "gray.npz"), val_fraction=0.2, normalize=False)
    assert g.input_shape == (1, 7, 7) and g.sizes == {"train": 24, "val": 6, "test": 9}
    assert torch.equal(g.test[0][:, 0], torch.from_numpy(xf[:9]))
    # ambiguous 4-D shape: an error naming layout=, which then resolves it
    amb = rng.integers(0, 256, (20, 3, 4, 3), dtype=np.uint8)
    np.savez(tmp_path / "amb.npz", x=amb, y=np.arange(20) % 2)
    with pytest.raises(ValueError, match="layout="):
        load_images(tmp_path / "amb.npz")
    a = load_images(tmp_path / "amb.npz", layout="NHWC", normalize=False, val_fraction=0)
    assert a.input_shape == (3, 3, 4)
    # malformed files
    np.savez(tmp_path / "bad1.npz", images=amb)
    np.savez(tmp_path / "bad2.npz", x=base, y=y[:5])
    np.savez(tmp_path / "bad3.npz", x=base, y=y - 1)
    np.savez(tmp_path / "bad4.npz", x=base, y=y, x_test=base)
    for k, msg in ((1, "needs arrays 'x' and 'y'"), (2, "40 samples"), (3, "negative"),
                   (4, "both 'x_test' and 'y_test'")):
        with pytest.raises(ValueError, match=msg):
            load_images(tmp_path / f"bad{k}.npz")


# ---------------------------------------------------------------------------------------------
# augmentation
# ---------------------------------------------------------------------------------------------
from naspredict.training.augment import Augment, default_augment, default_pad  # noqa: E402


def _reference(x, dy, dx, flip, pad, fill):
    """Per-image crop and flip, written the slow obvious way."""
    out = []
    for i in range(len(x)):
        p = torch.nn.functional.pad(x[i], (pad, pad, pad, pad), value=fill)
        h, w = x.shape[-2:]
        c = p[:, int(dy[i]):int(dy[i]) + h, int(dx[i]):int(dx[i]) + w]
        out.append(c.flip(-1) if flip[i] else c)
    return torch.stack(out)


def test_augment_matches_per_image_reference_and_is_seeded():
    x = torch.rand(64, 3, 9, 7)
    aug = Augment(pad=2, flip=True, fill=-0.5)
    g = torch.Generator().manual_seed(0)
    dy, dx, fl = aug.params(64, g)
    out = aug.apply(x, dy, dx, fl)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(out, _reference(x, dy, dx, fl, 2, -0.5))
    assert 10 < int(fl.sum()) < 54 and dy.min() >= 0 and dy.max() <= 4
    # deterministic by the generator, different for another seed, global RNG untouched
    state = torch.get_rng_state()
    a = aug(x, torch.Generator().manual_seed(5))
    b = aug(x, torch.Generator().manual_seed(5))
    c = aug(x, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(torch.get_rng_state(), state)
    # the crop moves images: most differ from the input and from a mere flip of it
    changed = (a != x).flatten(1).any(1)
    assert changed.float().mean() > 0.7
    # flip only: each image is either itself or its mirror, and both occur
    f = Augment(pad=0, flip=True)(x, torch.Generator().manual_seed(1))
    same = (f == x).flatten(1).all(1)
    mirrored = (f == x.flip(-1)).flatten(1).all(1)
    assert (same | mirrored).all() and same.any() and mirrored.any()
    # no flip: never mirrored; per-channel fill
    nf = Augment(pad=3, flip=False, fill=(1.0, 2.0, 3.0))
    g = torch.Generator().manual_seed(2)
    dy, dx, fl = nf.params(64, g)
    assert not fl.any()
    o = nf.apply(x, dy, dx, fl)
    ref = torch.stack([torch.stack([_reference(x[i:i + 1, ch:ch + 1], dy[i:i + 1], dx[i:i + 1], fl[i:i + 1],
                                               3, float(ch + 1))[0, 0] for ch in range(3)])
                       for i in range(64)])
    assert torch.equal(o, ref)
    with pytest.raises(TypeError, match="explicit torch.Generator"):
        aug(x, None)


def test_default_augment_per_dataset(tmp_path):
    assert [default_pad(s) for s in (32, 28, 16, 8)] == [4, 4, 2, 1]
    dg = load_images("digits")
    a = dg.default_augment()
    assert a.pad == 1 and a.flip is False
    # black padding in normalised units
    assert a.fill == pytest.approx((-dg.mean[0] / dg.std[0],))
    assert default_augment(name="cifar10", input_shape=(3, 32, 32)).flip is True
    assert default_augment(name="fashion-mnist", input_shape=(1, 28, 28)).pad == 4
    assert default_augment(name="mnist", input_shape=(1, 28, 28)).flip is False
    # in the loader: augmented batches differ by epoch, are deterministic by seed
    x, y = dg.train
    la = TensorLoader(x, y, 256, shuffle=False, seed=3, augment=a)
    e1, e2 = torch.cat([b[0] for b in la]), torch.cat([b[0] for b in la])
    assert not torch.equal(e1, e2) and not torch.equal(e1, x)
    e1b = torch.cat([b[0] for b in TensorLoader(x, y, 256, shuffle=False, seed=3, augment=a)])
    assert torch.equal(e1, e1b)
    # a black pixel on the border of the padded image: the padding value is the data's black
    assert torch.isclose(e1.min(), torch.tensor(a.fill[0]), atol=1e-6)


# ---------------------------------------------------------------------------------------------
# graphs
# ---------------------------------------------------------------------------------------------
from naspredict.training.graphs import GraphData, load_graph  # noqa: E402


def _check_masks(g):
    d = g.data
    m = torch.stack([d.train_mask, d.val_mask, d.test_mask])
    assert m.dtype == torch.bool and m.shape == (3, g.n_nodes)
    assert (m.sum(0) <= 1).all()  # disjoint


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test (nothing may be downloaded)."""
    import socket

    def refuse(*a, **k):
        raise AssertionError(f"tried to open a network connection {a}")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_karate_loads_with_seeded_masks(no_network):
    g = load_graph("karate", seed=0)
    assert isinstance(g, GraphData)
    assert g.n_nodes == 34 and g.n_features == 34 and g.n_classes == 4
    assert g.data.edge_index.shape == (2, 156)
    _check_masks(g)
    assert g.sizes == {"train": 20, "val": 7, "test": 7}
    assert (g.data.train_mask | g.data.val_mask | g.data.test_mask).all()
    for c in range(4):  # every class has training nodes
        assert g.data.train_mask[g.data.y == c].any()
    again, other = load_graph("karate", seed=0), load_graph("karate", seed=1)
    assert torch.equal(again.data.train_mask, g.data.train_mask)
    assert not torch.equal(other.data.train_mask, g.data.train_mask)
    s = load_graph("karate", train_fraction=0.3, val_fraction=0.3)
    assert s.info["split"] == "random" and s.sizes["train"] < 20
    with pytest.raises(ValueError, match="< 1"):
        load_graph("karate", train_fraction=0.7, val_fraction=0.3)
    with pytest.raises(ValueError, match="known names are karate, cora"):
        load_graph("reddit")


def test_graph_pt_file(tmp_path):
    from torch_geometric.data import Data
    n = 50
    ei = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
    y = torch.arange(n) % 3
    d = Data(x=torch.randn(n, 6), edge_index=ei, y=y)
    torch.save(d, tmp_path / "g.pt")
    g = load_graph(tmp_path / "g.pt", seed=2)
    assert g.name == "g" and g.n_features == 6 and g.n_classes == 3 and g.info["split"] == "random"
    _check_masks(g)
    assert torch.equal(g.data.x, d.x)
    # shipped masks are kept (as a dict of tensors too); 2-D masks: a column per seed
    tm = torch.zeros(n, 2, dtype=torch.bool)
    tm[:10, 0] = True
    tm[10:20, 1] = True
    vm, te = torch.zeros(n, 2, dtype=torch.bool), torch.zeros(n, 2, dtype=torch.bool)
    vm[30:35] = True
    te[40:] = True
    torch.save(dict(x=d.x, edge_index=ei, y=y, train_mask=tm, val_mask=vm, test_mask=te),
               tmp_path / "m.pt")
    for seed, lo in ((0, 0), (1, 10), (2, 0)):
        s = load_graph(str(tmp_path / "m.pt"), seed=seed)
        assert s.info["split"] == "shipped" and s.sizes == {"train": 10, "val": 5, "test": 10}
        assert s.data.train_mask[lo:lo + 10].all()
    assert load_graph(tmp_path / "m.pt", train_fraction=0.5).info["split"] == "random"
    torch.save(dict(x=d.x, edge_index=ei + 100, y=y), tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="outside"):
        load_graph(tmp_path / "bad.pt")
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        load_graph(tmp_path / "absent.pt")


def _write_planetoid(root: Path, name="cora", n_lab=20, n_all=560, n_test=40, f=5, k=3):
    """The Planetoid raw files (ind.<name>.x, tx, allx: scipy sparse; y, ty, ally: one-hot
    arrays; graph: dict of neighbour lists; test.index: text); PyG's public split needs 500
    validation nodes after the labelled ones."""
    import scipy.sparse as sp
    raw = root / "Cora" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    n = n_all + n_test
    feats = (rng.random((n, f)) < 0.3).astype(np.float32)
    labels = np.arange(n) % k
    onehot = np.eye(k, dtype=np.int64)[labels]
    parts = {"x": sp.csr_matrix(feats[:n_lab]), "allx": sp.csr_matrix(feats[:n_all]),
             "tx": sp.csr_matrix(feats[n_all:]), "y": onehot[:n_lab], "ally": onehot[:n_all],
             "ty": onehot[n_all:], "graph": {i: [(i + 1) % n, (i + 7) % n] for i in range(n)}}
    for key, v in parts.items():
        with open(raw / f"ind.{name}.{key}", "wb") as fh:
            pickle.dump(v, fh, protocol=2)
    (raw / f"ind.{name}.test.index").write_text("".join(f"{i}\n" for i in range(n_all, n)))
    return root


def test_planetoid_local_folder_and_no_download(tmp_path, monkeypatch, no_network):
    from torch_geometric.datasets import Planetoid

    def no_download(*a, **k):
        raise AssertionError("tried to download")
    monkeypatch.setattr(Planetoid, "download", no_download)
    with pytest.raises(FileNotFoundError, match=r"ind\.cora\.x.*root="):
        load_graph("cora", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="root="):
        load_graph("cora")
    root = _write_planetoid(tmp_path / "planetoid")
    # processed files without raw ones: PyG would download the raw files; we refuse
    (tmp_path / "half" / "Cora" / "processed").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="raw"):
        load_graph("cora", root=tmp_path / "half")
    g = load_graph("cora", root=root)
    assert g.n_nodes == 600 and g.n_features == 5 and g.n_classes == 3
    assert g.info["split"] == "shipped" and g.sizes == {"train": 20, "val": 500, "test": 40}
    _check_masks(g)
    assert torch.equal(load_graph("cora", root=root / "Cora").data.y, g.data.y)  # the folder itself
    assert load_graph("cora", root=root, train_fraction=0.5).info["split"] == "random"


def test_graph_data_fraction_nested_and_stratified():
    from naspredict.training.graphs import subsample
    full = load_graph("karate", seed=0)
    half = load_graph("karate", seed=0, data_fraction=0.5)
    quarter = subsample(full, 0.25, seed=0)
    assert half.sizes == {"train": 10, "val": 7, "test": 7} and quarter.sizes["train"] == 5
    assert torch.equal(half.data.val_mask, full.data.val_mask)
    assert torch.equal(half.data.test_mask, full.data.test_mask)
    t, h, q = full.data.train_mask, half.data.train_mask, quarter.data.train_mask
    assert (q <= h).all() and (h <= t).all() and h.sum() < t.sum()  # nested
    assert (full.data.train_mask == t).all() and t.sum() == 20  # the original is unchanged
    counts = torch.bincount(full.data.y[h], minlength=4)
    assert (counts - torch.bincount(full.data.y[t], minlength=4) * 0.5).abs().max() <= 1
    assert not torch.equal(subsample(full, 0.5, seed=1).data.train_mask, h)
    with pytest.raises(ValueError, match="data_fraction"):
        load_graph("karate", data_fraction=0)

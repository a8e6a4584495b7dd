"""Image data sets from local files, split deterministically, as in-memory tensors.

Nothing is downloaded: every source is a file already on the machine.

* ``"fashion-mnist"``: the idx files (``train-images-idx3-ubyte.gz`` ...) that Debian's
  ``dataset-fashion-mnist`` package installs under ``/usr/share/datasets/fashion-mnist/``, or
  any folder given as ``root=`` (gzipped or not; torchvision's ``FashionMNIST/raw`` layout too).
  ``"mnist"`` reads the same format (``root=``, or ``/usr/share/datasets/mnist``).
* ``"digits"``: scikit-learn's bundled ``load_digits`` (1 x 8 x 8, values 0..16).
* ``"cifar10"`` / ``"cifar100"``: the python-pickle releases (``cifar-10-batches-py/``,
  ``cifar-100-python/``) in a folder given as ``root=``.
* a path to an ``.npz`` file (see :func:`load_images` for the layout rules), or to a folder
  holding one of the formats above.

:func:`load_images` returns an :class:`ImageData`: train / validation / test tensors,
normalised per channel with the training split's statistics.  :class:`TensorLoader` batches
in-memory tensors (on any device) without per-sample Python work.

Randomness: every random choice comes from a ``numpy.random.Generator`` seeded by ``seed`` (the
splits) or from an explicit ``torch.Generator`` (the loader's order, augmentation); the global
RNGs are never read or changed.
"""
from __future__ import annotations

import gzip
import os
import pickle
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = ["ImageData", "load_images", "read_idx", "TensorLoader", "IMAGE_DATASETS",
           "stratified_order"]

#: the data set names :func:`load_images` knows (besides paths)
IMAGE_DATASETS = ("fashion-mnist", "mnist", "digits", "cifar10", "cifar100")
_ALIASES = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist",
            "fmnist": "fashion-mnist", "cifar-10": "cifar10", "cifar-100": "cifar100",
            "cifar_10": "cifar10", "cifar_100": "cifar100"}
#: where the Debian ``dataset-*`` packages install their files
SYSTEM_DATA_DIR = Path("/usr/share/datasets")
_IDX_FILES = {  # split -> (images, labels) base names
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# independent random streams per decision, so e.g. the validation split does not move when
# data_fraction changes
_STREAM_TEST, _STREAM_VAL, _STREAM_FRACTION = 101, 102, 103

Split = tuple[Tensor, Tensor]


# ---------------------------------------------------------------------------------------------
# the container
# ---------------------------------------------------------------------------------------------
@dataclass
class ImageData:
    """An image classification data set as in-memory tensors.

    Attributes
    ----------
    train, val, test : ``(x, y)`` pairs; ``x`` float32 of shape ``(N, C, H, W)``, normalised
        per channel with the training split's ``mean`` / ``std`` (unless loaded with
        ``normalize=False``), ``y`` int64 of shape ``(N,)`` with values in
        ``[0, n_classes)``.  ``val`` may hold 0 samples (``val_fraction=0``).
    n_classes : number of classes.
    input_shape : ``(C, H, W)`` of one sample.
    name : the data set's name (``"fashion-mnist"``, ..., or the file's stem).
    mean, std : per-channel statistics (length ``C``) of the training split in ``[0, 1]``
        pixel units (``uint8`` sources are divided by 255 first) that ``x`` was normalised
        with: ``x = (pixels - mean) / std``.
    source : where the data came from (a path, or ``sklearn.datasets.load_digits``).
    seed : the seed the splits were drawn with.
    info : the loading options (fractions, resolution, native size) for the record, and
        ``info["indices"]``: for ``"train"`` / ``"val"`` (and ``"test"`` when it was carved
        from the training file; else ``None``) the sorted int64 positions of the split's
        samples in the source's training file.

    Use :meth:`to` once to put every split on a device, so training batches are slices of
    tensors already there (see :class:`TensorLoader`).
    """

    train: Split
    val: Split
    test: Split
    n_classes: int
    input_shape: tuple[int, int, int]
    name: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    source: str = ""
    seed: int = 0
    info: dict = field(default_factory=dict)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "ImageData":
        """A copy with every split's tensors on ``device`` (the tensors themselves, not a
        view, when they are already there)."""
        def mv(s: Split) -> Split:
            return (s[0].to(device, non_blocking=non_blocking),
                    s[1].to(device, non_blocking=non_blocking))
        return replace(self, train=mv(self.train), val=mv(self.val), test=mv(self.test))

    @property
    def device(self) -> torch.device:
        """The device the tensors are on."""
        return self.train[0].device

    @property
    def sizes(self) -> dict[str, int]:
        """Number of samples per split: ``{"train": ..., "val": ..., "test": ...}``."""
        return {"train": len(self.train[1]), "val": len(self.val[1]), "test": len(self.test[1])}

    def split(self, name: str) -> Split:
        """The ``(x, y)`` pair of split ``"train"``, ``"val"`` or ``"test"``."""
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {name!r}")
        return getattr(self, name)

    def default_augment(self):
        """The standard augmentation for this data set (see
        :func:`naspredict.training.augment.default_augment`)."""
        from .augment import default_augment
        return default_augment(self)

    def denormalize(self, x: Tensor) -> Tensor:
        """Pixels in ``[0, 1]`` units from normalised ``x`` of shape ``(N, C, H, W)``."""
        m = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        s = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return x * s + m

    def __repr__(self) -> str:
        return (f"ImageData({self.name!r}, input_shape={self.input_shape}, "
                f"n_classes={self.n_classes}, sizes={self.sizes}, device={self.device})")


# ---------------------------------------------------------------------------------------------
# idx (MNIST / Fashion-MNIST) files
# ---------------------------------------------------------------------------------------------
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one idx file (the MNIST format; gzipped when the name ends in ``.gz``).

    The header is two zero bytes, a type code (0x08 = uint8, 0x09 int8, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, then each dimension as a
    big-endian uint32; the data follow row-major.  Returns an array of that shape (native byte
    order).  Raises ``ValueError`` naming the file when the header is wrong or the data are
    truncated or too long, ``FileNotFoundError`` when the file is absent.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                buf = f.read()
        else:
            buf = path.read_bytes()
    except (EOFError, gzip.BadGzipFile, OSError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ValueError(f"{path}: cannot read this idx file ({type(e).__name__}: {e}); "
                         "it is truncated or not gzip data: replace it with a good copy") from e
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0 or buf[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an idx file (bad magic number {buf[:4].hex() or 'empty'}; "
                         "expected 0000 <type code> <ndim>, e.g. 00000803 for images)")
    ndim = buf[3]
    dtype = np.dtype(_IDX_DTYPES[buf[2]])
    header = 4 + 4 * ndim
    if ndim == 0 or len(buf) < header:
        raise ValueError(f"{path}: idx header truncated or with 0 dimensions")
    shape = tuple(int(d) for d in np.frombuffer(buf, ">u4", count=ndim, offset=4))
    want = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = len(buf) - header
    if have != want:
        raise ValueError(f"{path}: idx data {'truncated' if have < want else 'too long'}: header "
                         f"says shape {shape} of {dtype} ({want} bytes), file has {have} bytes")
    return np.frombuffer(buf, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


@lru_cache(maxsize=8)
def _read_idx_cached(path: str, mtime_ns: int, size: int) -> np.ndarray:
    a = read_idx(path)
    a.flags.writeable = False  # shared between calls: nobody may change it
    return a


def _find_idx(folder: Path, base: str) -> Path | None:
    for name in (base, base + ".gz", base.replace("-idx", ".idx"),
                 base.replace("-idx", ".idx") + ".gz"):
        p = folder / name
        if p.is_file():
            return p
    return None


def _idx_folder(candidates: Sequence[Path]) -> Path | None:
    for c in candidates:
        if c.is_dir() and all(_find_idx(c, b) for pair in _IDX_FILES.values() for b in pair):
            return c
    return None


def _load_idx_dir(folder: Path, what: str):
    out = {}
    for split, (img, lab) in _IDX_FILES.items():
        arrays = []
        for base in (img, lab):
            p = _find_idx(folder, base)
            st = p.stat()
            arrays.append(_read_idx_cached(str(p.resolve()), st.st_mtime_ns, st.st_size))
        x, y = arrays
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"{folder}: {what} {split} images must be N x H x W and labels N, "
                             f"got {x.shape} and {y.shape}")
        out[split] = (x[:, None], y.astype(np.int64))
    return out


# ---------------------------------------------------------------------------------------------
# CIFAR python pickles (read with an allow-list: a pickle can otherwise run any code)
# ---------------------------------------------------------------------------------------------
_PICKLE_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    ("builtins", "bytearray"), ("__builtin__", "bytearray"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _PICKLE_ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data pickle "
                                         "(only numpy arrays, dicts, lists and bytes are allowed)")
        if module.startswith("numpy.core") and hasattr(np, "_core"):
            module = "numpy._core" + module[len("numpy.core"):]
        if module == "__builtin__":
            module = "builtins"
        return super().find_class(module, name)


def _read_pickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            d = _SafeUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure means a bad file; say which
        raise ValueError(f"{path}: cannot read this CIFAR pickle ({type(e).__name__}: {e})") from e
    if not isinstance(d, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(d).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in d.items()}


def _cifar_batch(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    d = _read_pickle(path)
    if "data" not in d or label_key not in d:
        raise ValueError(f"{path}: a CIFAR batch needs keys b'data' and b'{label_key}', "
                         f"found {sorted(d)}")
    data = np.asarray(d["data"])
    labels = np.asarray(d[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise ValueError(f"{path}: b'data' must be N x 3072 uint8 (N = {len(labels)} labels), "
                         f"got {data.shape} {data.dtype}")
    # each row: 1024 red, 1024 green, 1024 blue values, each plane row-major 32 x 32
    return data.reshape(-1, 3, 32, 32), labels


_CIFAR = {  # name -> (folder name, train files, test files, label key, classes)
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"],
                "labels", 10),
    "cifar100": ("cifar-100-python", ["train"], ["test"], "fine_labels", 100),
}


def _cifar_folder(name: str, candidates: Sequence[Path]) -> Path | None:
    sub, train, test, _, _ = _CIFAR[name]
    for c in candidates:
        for d in (c / sub, c):
            if all((d / f).is_file() for f in train + test):
                return d
    return None


def _load_cifar(name: str, folder: Path):
    _, train, test, key, n_classes = _CIFAR[name]
    out = {}
    for split, files in (("train", train), ("test", test)):
        parts = [_cifar_batch(folder / f, key) for f in files]
        out[split] = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return out, n_classes


# ---------------------------------------------------------------------------------------------
# .npz
# ---------------------------------------------------------------------------------------------
def _as_nchw(x: np.ndarray, layout: str | None, path: Path, key: str) -> np.ndarray:
    if x.ndim == 3:
        return x[:, None]
    if x.ndim != 4:
        raise ValueError(f"{path}: {key!r} must be N x H x W, N x C x H x W or N x H x W x C, "
                         f"got shape {x.shape}")
    if layout is None:
        first, last = x.shape[1] <= 4, x.shape[3] <= 4
        if first == last:
            raise ValueError(
                f"{path}: cannot tell whether {key!r} of shape {x.shape} is channels-first or "
                "channels-last (the channel axis is the one of size <= 4 when exactly one of "
                "axes 1 and 3 is): pass layout='NCHW' or layout='NHWC'")
        layout = "NCHW" if first else "NHWC"
    layout = layout.upper()
    if layout == "NHWC":
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    if layout == "NCHW":
        return x
    raise ValueError(f"layout must be 'NCHW', 'NHWC' or None, got {layout!r}")


def _labels(y, path: Path, key: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{path}: {key!r} must be a 1-D array of class indices, got shape {y.shape}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError(f"{path}: {key!r} holds non-integer labels")
    elif y.dtype.kind not in "iub":
        raise ValueError(f"{path}: {key!r} must hold integer class indices, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if len(y) and y.min() < 0:
        raise ValueError(f"{path}: {key!r} holds negative labels (classes are 0..K-1)")
    return y


def _load_npz(path: Path, layout: str | None):
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path} is not a readable .npz archive ({' '.join(str(err).split())[:120]}); "
                         f"write one with numpy.savez(path, x=images, y=labels)") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} holds a single array, not an .npz archive of named arrays; write one "
                         f"with numpy.savez(path, x=images, y=labels)")
    with z:
        keys = set(z.files)
        if not {"x", "y"} <= keys:
            raise ValueError(f"{path}: an image .npz needs arrays 'x' and 'y' (optional 'x_test', "
                             f"'y_test'), found {sorted(keys)}")
        if ("x_test" in keys) != ("y_test" in keys):
            raise ValueError(f"{path}: give both 'x_test' and 'y_test' or neither")
        out = {}
        for split, kx, ky in (("train", "x", "y"), ("test", "x_test", "y_test")):
            if kx not in keys:
                continue
            x = z[kx]
            if x.dtype.kind not in "uif" or x.dtype == np.bool_:
                raise ValueError(f"{path}: {kx!r} must be numeric (uint8 or float), got {x.dtype}")
            x = _as_nchw(x, layout, path, kx)
            y = _labels(z[ky], path, ky)
            if len(x) != len(y):
                raise ValueError(f"{path}: {kx!r} has {len(x)} samples, {ky!r} {len(y)}")
            out[split] = (x, y)
        n_classes = int(z["n_classes"]) if "n_classes" in keys else None
    if "test" in out and out["test"][0].shape[1:] != out["train"][0].shape[1:]:
        raise ValueError(f"{path}: 'x_test' samples {out['test'][0].shape[1:]} differ from "
                         f"'x' samples {out['train'][0].shape[1:]} (C, H, W)")
    top = max(int(y.max()) if len(y) else -1 for _, y in out.values()) + 1
    if n_classes is None:
        n_classes = top
    elif n_classes < top:
        raise ValueError(f"{path}: n_classes={n_classes} but labels reach {top - 1}")
    return out, n_classes


# ---------------------------------------------------------------------------------------------
# splitting
# ---------------------------------------------------------------------------------------------
def stratified_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order of ``range(len(y))`` whose every prefix is stratified by class.

    Within each class the samples are shuffled; sample ``r`` of class ``c`` (of ``n_c``) gets
    the key ``(r + u_c) / n_c`` with ``u_c ~ U(0, 1)``, and the order sorts the keys.  So the
    first ``k`` entries hold ``k * n_c / N`` samples of class ``c`` up to one, and taking
    prefixes of one order gives nested subsets (a smaller ``data_fraction`` is a subset of a
    larger one's).  Shape ``(N,)`` int64.
    """
    y = np.asarray(y)
    keys = np.empty(len(y), dtype=np.float64)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        members = members[rng.permutation(len(members))]
        keys[members] = (np.arange(len(members)) + rng.random()) / len(members)
    return np.argsort(keys, kind="stable").astype(np.int64)


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([stream, seed])


def _check_fraction(name: str, v, *, low_open: bool, allow_one: bool) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name} must be a number, got {v!r}")
    v = float(v)
    lo_ok = v > 0 if low_open else v >= 0
    hi_ok = v <= 1 if allow_one else v < 1
    if not (lo_ok and hi_ok):
        rng = f"{'(' if low_open else '['}0, 1{']' if allow_one else ')'}"
        raise ValueError(f"{name} must be in {rng}, got {v!r}")
    return v


# ---------------------------------------------------------------------------------------------
# tensors: float conversion, resizing, normalisation
# ---------------------------------------------------------------------------------------------
def _to_float(x: np.ndarray) -> Tensor:
    x = np.ascontiguousarray(x)
    t = torch.from_numpy(x if x.flags.writeable else x.copy())
    if t.dtype == torch.uint8:
        return t.to(torch.float32).div_(255.0)
    t = t.to(torch.float32)
    if not torch.isfinite(t).all():
        raise ValueError("the images hold NaN or infinite values")
    return t


def _resize(x: Tensor, size: tuple[int, int], chunk: int = 8192) -> Tensor:
    if tuple(x.shape[-2:]) == size or len(x) == 0:
        return x if len(x) else x.new_empty((0, x.shape[1], *size))
    down = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    out = x.new_empty((len(x), x.shape[1], *size))
    for i in range(0, len(x), chunk):
        out[i:i + chunk] = torch.nn.functional.interpolate(
            x[i:i + chunk], size=size, mode="bilinear", align_corners=False, antialias=down)
    return out


def _normalise(splits: dict[str, Tensor], normalize: bool):
    xtr = splits["train"]
    c = xtr.shape[1]
    if not normalize:
        return (0.0,) * c, (1.0,) * c
    std, mean = torch.std_mean(xtr, dim=(0, 2, 3), correction=0)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))  # a constant channel: only centre
    m = mean.to(torch.float32).view(1, c, 1, 1)
    s = std.to(torch.float32).view(1, c, 1, 1)
    for x in splits.values():
        x.sub_(m).div_(s)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def _resolution(r) -> tuple[int, int] | None:
    if r is None:
        return None
    if isinstance(r, (tuple, list)) and len(r) == 2:
        h, w = r
    else:
        h = w = r
    for v in (h, w):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"resolution must be a positive int (or an (H, W) pair), got {r!r}")
    return int(h), int(w)


# ---------------------------------------------------------------------------------------------
# the entry point
# ---------------------------------------------------------------------------------------------
def _candidates(name: str, root) -> list[Path]:
    if root is not None:
        r = Path(root).expanduser()
        return [r, r / name]
    env = os.environ.get("NASPREDICT_DATA")
    out = [Path(env).expanduser() / name] if env else []
    return out + [SYSTEM_DATA_DIR / name]


def _missing(what: str, looked: Sequence[Path], files: Sequence[str], fix: str) -> FileNotFoundError:
    where = ", ".join(str(p) for p in looked)
    return FileNotFoundError(f"{what} not found: looked in {where} for {', '.join(files)}. {fix}")


def _read_source(name_or_path, root, layout):
    """-> (name, source, {"train": (x, y), ["test": (x, y)]}, n_classes) with x N x C x H x W."""
    if isinstance(name_or_path, os.PathLike) or (
            isinstance(name_or_path, str) and (os.sep in name_or_path or name_or_path.endswith(".npz"))):
        path = Path(name_or_path).expanduser()
        if path.suffix == ".npz":
            if not path.is_file():
                raise FileNotFoundError(f"image data file {path} not found (an .npz with arrays "
                                        "'x', 'y' and optionally 'x_test', 'y_test')")
            out, k = _load_npz(path, layout)
            return path.stem, str(path), out, k
        if path.is_dir():
            if (d := _idx_folder([path])) is not None:
                out = _load_idx_dir(d, "idx")
                k = int(max(out["train"][1].max(), out["test"][1].max())) + 1
                return path.name, str(d), out, k
            for cname in _CIFAR:
                if (d := _cifar_folder(cname, [path])) is not None:
                    out, k = _load_cifar(cname, d)
                    return cname, str(d), out, k
            raise FileNotFoundError(
                f"{path}: no image data set found in this folder (expected idx files "
                f"{', '.join(b for p in _IDX_FILES.values() for b in p)} (.gz or not), or a "
                f"CIFAR python release: {', '.join(v[0] for v in _CIFAR.values())})")
        raise FileNotFoundError(f"image data path {path} not found (give an .npz file, a data "
                                f"folder, or one of the names {', '.join(IMAGE_DATASETS)})")
    if not isinstance(name_or_path, str):
        raise TypeError(f"name_or_path must be a str or a path, got {type(name_or_path).__name__}")
    name = _ALIASES.get(name_or_path.lower(), name_or_path.lower())
    if name in ("fashion-mnist", "mnist"):
        tv = "FashionMNIST" if name == "fashion-mnist" else "MNIST"
        looked = []
        for c in _candidates(name, root):
            looked += [c, c / tv / "raw"]
        if (d := _idx_folder(looked)) is None:
            pkg = (" Install them with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu) or"
                   if name == "fashion-mnist" else "")
            raise _missing(f"{name} idx files", looked,
                           [b + "[.gz]" for p in _IDX_FILES.values() for b in p],
                           f"{pkg} pass root= a folder that holds them.".strip())
        out = _load_idx_dir(d, name)
        for split, (_, y) in out.items():
            if len(y) and (y.min() < 0 or y.max() > 9):
                raise ValueError(f"{d}: {name} {split} labels must be 0..9, found {y.min()}..{y.max()}")
        return name, str(d), out, 10
    if name == "digits":
        if root is not None:
            raise ValueError("'digits' is scikit-learn's bundled data set; root= does not apply")
        from sklearn.datasets import load_digits
        d = load_digits()
        x = (d.images.astype(np.float32) / 16.0)[:, None]  # values 0..16 -> [0, 1]
        return "digits", "sklearn.datasets.load_digits", {"train": (x, d.target.astype(np.int64))}, 10
    if name in _CIFAR:
        cands = _candidates(name, root)
        if root is not None:
            cands.append(Path(root).expanduser() / name.replace("cifar", "cifar-"))
        if (d := _cifar_folder(name, cands)) is None:
            sub, train, test, _, _ = _CIFAR[name]
            raise _missing(f"{name} python-pickle files", [p / sub for p in cands] + list(cands),
                           train + test,
                           f"Pass root= the folder that holds {sub}/ (the python version of the "
                           "data set, e.g. unpacked from cifar-10-python.tar.gz).")
        out, k = _load_cifar(name, d)
        return name, str(d), out, k
    raise ValueError(f"unknown image data set {name_or_path!r}: known names are "
                     f"{', '.join(IMAGE_DATASETS)}; or give a path to an .npz file or a data folder")


def load_images(name_or_path: str | os.PathLike, *, root: str | os.PathLike | None = None,
                seed: int = 0, val_fraction: float = 0.1, data_fraction: float | None = 1.0,
                resolution: int | tuple[int, int] | None = None, test_fraction: float = 0.2,
                normalize: bool = True, layout: str | None = None) -> ImageData:
    """Load an image classification data set from local files and split it.

    Parameters
    ----------
    name_or_path : ``"fashion-mnist"``, ``"mnist"``, ``"digits"``, ``"cifar10"``,
        ``"cifar100"``, a path to an ``.npz`` file, or a path to a folder holding idx files or
        a CIFAR python release.
    root : the folder to read a named data set from.  Default: ``$NASPREDICT_DATA/<name>``
        when that variable is set, then ``/usr/share/datasets/<name>`` (where Debian's
        ``dataset-fashion-mnist`` puts Fashion-MNIST).  For CIFAR, ``root`` may hold
        ``cifar-10-batches-py/`` (``cifar-100-python/``) or be that folder.
    seed : seeds the splits (a ``numpy.random.Generator`` per decision; global RNGs are
        untouched).  Same seed, same splits.
    val_fraction : in ``[0, 1)``: share of the training file carved out, stratified by class,
        as the validation split.  It does not depend on ``data_fraction``.
    data_fraction : in ``(0, 1]`` (``None`` = 1): share of the remaining training samples kept,
        stratified by class.  For one seed a smaller fraction's sample is a subset of a
        larger one's (see :func:`stratified_order`).  Validation and test are never subsampled.
    resolution : resize every split to ``resolution x resolution`` (or ``(H, W)``) pixels with
        bilinear interpolation (antialiased when shrinking); ``None`` keeps the native size.
    test_fraction : for sources without a test split (``digits``, an ``.npz`` without
        ``x_test``): the share of all samples set aside, stratified, as the test split (drawn
        by ``seed`` before the validation split).
    normalize : subtract the training split's per-channel mean and divide by its std
        (computed after subsampling and resizing).  ``False`` leaves pixels in ``[0, 1]``.
    layout : for 4-D ``.npz`` arrays, ``"NCHW"`` or ``"NHWC"``; ``None`` infers it.

    ``.npz`` rules: arrays ``x`` and ``y``, optionally ``x_test`` and ``y_test`` and a scalar
    ``n_classes`` (default: largest label + 1).  ``x`` is ``N x H x W`` (one channel),
    ``N x C x H x W`` or ``N x H x W x C``; for 4-D arrays without ``layout`` the channel axis
    is whichever of axes 1 and 3 has size <= 4, and if both or neither do it is ambiguous: a
    ``ValueError`` asks for ``layout``.  ``uint8`` pixels are divided by 255; float pixels are
    taken as they are.  ``y`` holds integer class indices ``0..K-1``.

    Returns
    -------
    ImageData with float32 ``x`` of shape ``(N, C, H, W)`` and int64 ``y`` of shape ``(N,)``
    per split, on the CPU (use :meth:`ImageData.to`).

    Raises
    ------
    FileNotFoundError : the files are absent; the message names the places looked in and the
        fix (``apt-get install dataset-fashion-mnist``, ``root=``).
    ValueError : bad arguments, an unknown name (the message lists the known ones), or a
        malformed file (named in the message).

    Examples
    --------
    >>> d = load_images("fashion-mnist", seed=0, val_fraction=0.1, data_fraction=0.25)
    >>> d.train[0].shape, d.val[0].shape, d.test[0].shape
    (torch.Size([13500, 1, 28, 28]), torch.Size([6000, 1, 28, 28]), torch.Size([10000, 1, 28, 28]))
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    seed = int(seed)
    val_fraction = _check_fraction("val_fraction", val_fraction, low_open=False, allow_one=False)
    data_fraction = 1.0 if data_fraction is None else _check_fraction(
        "data_fraction", data_fraction, low_open=True, allow_one=True)
    test_fraction = _check_fraction("test_fraction", test_fraction, low_open=True, allow_one=False)
    size = _resolution(resolution)
    if layout is not None and str(layout).upper() not in ("NCHW", "NHWC"):
        raise ValueError(f"layout must be 'NCHW', 'NHWC' or None, got {layout!r}")

    name, source, raw, n_classes = _read_source(name_or_path, root, layout)
    x_all, y_all = raw["train"]
    if len(y_all) == 0:
        raise ValueError(f"{source}: the training data hold no samples")
    if "test" in raw:
        x_test, y_test = raw["test"]
        pool = np.arange(len(y_all))
    else:
        order = stratified_order(y_all, _rng(seed, _STREAM_TEST))
        n_test = max(1, round(test_fraction * len(y_all)))
        test_idx, pool = np.sort(order[:n_test]), order[n_test:]
        x_test, y_test = x_all[test_idx], y_all[test_idx]
        pool = np.sort(pool)
    n_val = round(val_fraction * len(pool))
    if n_val >= len(pool):
        raise ValueError(f"val_fraction={val_fraction} leaves no training samples of {len(pool)}")
    order = pool[stratified_order(y_all[pool], _rng(seed, _STREAM_VAL))]
    val_idx, train_pool = np.sort(order[:n_val]), np.sort(order[n_val:])
    n_train = len(train_pool)
    if data_fraction < 1.0:
        n_keep = max(1, round(data_fraction * len(train_pool)))
        sub = stratified_order(y_all[train_pool], _rng(seed, _STREAM_FRACTION))[:n_keep]
        train_idx = train_pool[np.sort(sub)]
    else:
        train_idx = train_pool

    xs = {"train": _to_float(x_all[train_idx]), "val": _to_float(x_all[val_idx]),
          "test": _to_float(x_test)}
    native = tuple(xs["train"].shape[-2:])
    if size is not None:
        xs = {k: _resize(v, size) for k, v in xs.items()}
    mean, std = _normalise(xs, normalize)
    ys = {"train": torch.from_numpy(y_all[train_idx].copy()),
          "val": torch.from_numpy(y_all[val_idx].copy()),
          "test": torch.from_numpy(np.asarray(y_test, np.int64).copy())}
    c, h, w = xs["train"].shape[1:]
    return ImageData(
        train=(xs["train"], ys["train"]), val=(xs["val"], ys["val"]), test=(xs["test"], ys["test"]),
        n_classes=int(n_classes), input_shape=(int(c), int(h), int(w)), name=name,
        mean=mean, std=std, source=source, seed=seed,
        info={"val_fraction": val_fraction, "data_fraction": data_fraction,
              "resolution": size, "native_resolution": native, "normalize": normalize,
              "test_fraction": None if "test" in raw else test_fraction,
              "n_train_full": n_train,
              "indices": {"train": train_idx, "val": val_idx,
                          "test": None if "test" in raw else test_idx}})


# ---------------------------------------------------------------------------------------------
# batching
# ---------------------------------------------------------------------------------------------
class TensorLoader:
    """Batches of in-memory tensors, on whatever device they are on.

    Parameters
    ----------
    x : tensor of shape ``(N, ...)``, e.g. ``(N, C, H, W)`` images.
    y : tensor of shape ``(N, ...)`` (labels), on the same device as ``x``.
    batch_size : samples per batch (the last one may be smaller unless ``drop_last``).
    shuffle : draw a new permutation from the generator at the start of every epoch
        (every sample appears exactly once per epoch); ``False`` gives ``x`` in order, as
        views (no copy).
    generator : the ``torch.Generator`` for the order and the augmentation.  Its device sets
        where the numbers are drawn (a CPU generator gives the same order for data on any
        device); indices are then moved to the data's device once per epoch.
    seed : seeds a fresh CPU generator when ``generator`` is None (default 0: the loader is
        deterministic; it never touches torch's global RNG).
    augment : optional ``augment(x_batch, generator) -> x_batch`` applied to each batch's
        inputs (e.g. :class:`naspredict.training.augment.Augment`).
    drop_last : drop the last batch when it is smaller than ``batch_size``.

    ``len(loader)`` is the number of batches per epoch.  Each iteration yields ``(xb, yb)``
    with ``xb`` of shape ``(B, ...)``; the loop does one ``index_select`` per tensor and batch,
    no per-sample Python work.

    Example
    -------
    >>> d = load_images("digits").to("cpu")
    >>> loader = TensorLoader(*d.train, 128, shuffle=True, seed=0, augment=d.default_augment())
    >>> for xb, yb in loader: ...
    """

    def __init__(self, x: Tensor, y: Tensor, batch_size: int, *, shuffle: bool = True,
                 generator: torch.Generator | None = None, seed: int | None = None,
                 augment: Callable[[Tensor, torch.Generator], Tensor] | None = None,
                 drop_last: bool = False) -> None:
        if not isinstance(x, Tensor) or not isinstance(y, Tensor):
            raise TypeError("x and y must be tensors")
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} samples, y has {len(y)}")
        if x.device != y.device:
            raise ValueError(f"x is on {x.device}, y on {y.device}: put both on one device")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if generator is not None and seed is not None:
            raise ValueError("give generator or seed, not both")
        if generator is None:
            generator = torch.Generator().manual_seed(0 if seed is None else int(seed))
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.generator = generator
        self.augment = augment
        self.drop_last = bool(drop_last)

    @property
    def n_samples(self) -> int:
        """Samples per epoch before ``drop_last``."""
        return len(self.y)

    def __len__(self) -> int:
        n, b = len(self.y), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n, b = len(self.y), self.batch_size
        stop = (n // b) * b if self.drop_last else n
        x, y, aug, g = self.x, self.y, self.augment, self.generator
        if self.shuffle:
            perm = torch.randperm(n, generator=g, device=g.device).to(x.device)
            for i in range(0, stop, b):
                idx = perm[i:i + b]
                xb = x.index_select(0, idx)
                yield (aug(xb, g) if aug is not None else xb), y.index_select(0, idx)
        else:
            for i in range(0, stop, b):
                xb = x[i:i + b]
                yield (aug(xb, g) if aug is not None else xb), y[i:i + b]

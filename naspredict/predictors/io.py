"""Save a fitted predictor to one file and load it back: fit once, predict anywhere.

>>> from naspredict.predictors import make, save_predictor, load_predictor
>>> model = make("rf").fit(archs, y)
>>> save_predictor(model, "rf.nspm", metadata={"target": "val_accuracy", "direction": "max"})
>>> load_predictor("rf.nspm").predict(new_archs)          # same numbers, in any process

File layout (format version :data:`FORMAT_VERSION`)::

    MAGIC (16 bytes) | header length (8 bytes, little-endian) | header (UTF-8 JSON) | payload

The header says what the model is (predictor class, space, target, direction, encoding,
training-set size, where the data came from, the library versions that wrote it) and holds the
payload's size and SHA-256, so a truncated or damaged file is refused instead of half-read.
:func:`read_header` reads it without unpickling anything.  The payload is the fitted estimator
written by ``torch.save`` (a pickle whose tensors are stored apart), so :func:`load_predictor`
maps every tensor to the CPU: a model saved on a GPU machine loads on a CPU-only one.

The payload is a pickle: loading runs code named in the file.  Load only files you trust (your
own, or a colleague's), as with any pickle.  Files are written atomically (a temporary file in
the same folder, then ``os.replace``), so a crash never leaves half a model under the name.
"""
from __future__ import annotations

import hashlib
import io
import json
import numbers
import os
import platform
import struct
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from .base import Predictor

#: first bytes of every model file.
MAGIC = b"NASPREDICT-MODEL"
#: the layout this module writes; it reads every version up to this one.
FORMAT_VERSION = 1
_LEN = struct.Struct("<Q")
#: header fields the caller may set through ``metadata`` (others are allowed too).
KNOWN_FIELDS = ("predictor", "target", "direction", "source", "encoding", "train_size", "seed")


def _versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("naspredict", "torch", "scikit-learn", "numpy", "gpytorch", "xgboost"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _registry_name(predictor: Predictor) -> str | None:
    """The registry name whose class and default parameters match ``predictor`` (or None)."""
    from . import _REGISTRY

    cls = type(predictor)
    for name, (module, clsname, defaults, _) in _REGISTRY.items():
        if cls.__module__.endswith(f".{module}") and cls.__name__ == clsname:
            params = predictor.get_params(deep=False)
            if all(params.get(k) == v for k, v in defaults.items()):
                return name
    return None


def _json_seed(seed):
    """``random_state`` as a JSON value: an int (numpy ints too), None, else its repr."""
    if seed is None:
        return None
    if isinstance(seed, numbers.Integral):
        return int(seed)
    return repr(seed)


def _header(predictor: Predictor, metadata: Mapping[str, Any] | None) -> dict:
    space = predictor.space_
    head: dict[str, Any] = {
        "format": "naspredict-model",
        "format_version": FORMAT_VERSION,
        "predictor": _registry_name(predictor),
        "class": f"{type(predictor).__module__}.{type(predictor).__qualname__}",
        "space": space.name,
        "space_id": space.space_id,
        "target": None,
        "direction": None,
        "encoding": getattr(predictor, "encoding", None) if isinstance(
            getattr(predictor, "encoding", None), str) else None,
        "train_size": int(predictor.n_train_),
        "source": None,
        "supports_std": bool(predictor.supports_std),
        "random_state": _json_seed(predictor.get_params(deep=False).get("random_state")),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
    }
    if metadata:
        if not isinstance(metadata, Mapping):
            raise ValueError(f"metadata must be a dict of JSON values, got {type(metadata).__name__}")
        reserved = {"format", "format_version", "class", "payload_bytes", "payload_sha256",
                    "versions", "created"} & set(metadata)
        if reserved:
            raise ValueError(f"metadata may not set {sorted(reserved)}: save_predictor writes them")
        head.update(metadata)
    if head["direction"] not in (None, "max", "min"):
        raise ValueError(f"metadata direction must be 'max' or 'min', got {head['direction']!r}")
    return head


def save_predictor(predictor: Predictor, path: str | os.PathLike, *,
                   metadata: Mapping[str, Any] | None = None) -> Path:
    """Write a fitted predictor and a small header to ``path`` (one file, written atomically).

    Parameters
    ----------
    predictor : a fitted :class:`~naspredict.predictors.base.Predictor`.
    path : the file to write (its folder is created).  An existing model file is replaced; any
        other existing file (a results store, a log) is refused, so a typo cannot destroy it.
    metadata : extra header fields, JSON values: ``target`` (metric it predicts),
        ``direction`` (``"max"`` or ``"min"``: which end of the predictions is best),
        ``source`` (the benchmark or log it was fitted on), ``predictor`` (registry name),
        ``encoding``, ``train_size``, ``seed`` or any field of your own.  Defaults are read
        from the predictor (class, space name and id, training size, encoding when it has one).

    Returns
    -------
    pathlib.Path : ``path``.

    Raises
    ------
    ValueError : the predictor is not a naspredict predictor or is not fitted; ``metadata``
        is not JSON-serialisable, sets a reserved field or has a bad ``direction``; ``path``
        is a folder or an existing file that is not a model file.
    """
    import torch

    if not isinstance(predictor, Predictor):
        raise ValueError(f"save_predictor saves naspredict predictors, got {type(predictor).__name__}; "
                         f"build one with naspredict.predictors.make(name)")
    if not hasattr(predictor, "n_train_"):
        raise ValueError(f"this {type(predictor).__name__} is not fitted; call fit(archs, y) "
                         f"before saving it")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a file name for the model, e.g. {path / 'model.nspm'}")
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                raise ValueError(f"{path} exists and is not a naspredict model file: saving would destroy "
                                 f"it; give another path (e.g. {path.with_suffix('.nspm')}) or delete it first")
    head = _header(predictor, metadata)
    buf = io.BytesIO()
    torch.save(predictor, buf)
    payload = buf.getvalue()
    head["payload_bytes"] = len(payload)
    head["payload_sha256"] = hashlib.sha256(payload).hexdigest()
    try:
        head_bytes = json.dumps(head, sort_keys=True).encode("utf-8")
    except (TypeError, ValueError) as err:
        raise ValueError(f"metadata must hold JSON values (str, numbers, bools, lists, dicts): "
                         f"{err}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC)
            f.write(_LEN.pack(len(head_bytes)))
            f.write(head_bytes)
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def _open_checked(path: Path):
    if not path.exists():
        raise FileNotFoundError(f"model file {path} does not exist; make one with "
                                f"`naspredict fit ... -o {path}` or save_predictor")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a model file; give the file that "
                         f"`naspredict fit -o` or save_predictor wrote")
    return open(path, "rb")


def _read(path: Path, want_payload: bool) -> tuple[dict, bytes | None]:
    fix = "make it again with `naspredict fit` or naspredict.predictors.save_predictor"
    with _open_checked(path) as f:
        start = f.read(len(MAGIC) + _LEN.size)
        if len(start) < len(MAGIC) or start[:len(MAGIC)] != MAGIC:
            raise ValueError(f"{path} is not a naspredict model file (it does not start with "
                             f"{MAGIC.decode()}); {fix}")
        if len(start) < len(MAGIC) + _LEN.size:
            raise ValueError(f"{path} is truncated (it ends inside its header); {fix}")
        (n,) = _LEN.unpack(start[len(MAGIC):])
        raw = f.read(n) if n < 1 << 24 else b""
        if len(raw) != n:
            raise ValueError(f"{path} is truncated or damaged (its header is cut short); {fix}")
        try:
            head = json.loads(raw.decode("utf-8"))
            version = int(head["format_version"])
            size, digest = int(head["payload_bytes"]), str(head["payload_sha256"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise ValueError(f"{path} has a damaged header; {fix}") from None
        if version > FORMAT_VERSION:
            raise ValueError(f"{path} was written in model format {version} by a newer naspredict "
                             f"({head.get('versions', {}).get('naspredict')}); this one reads up to "
                             f"format {FORMAT_VERSION}: upgrade naspredict to load it")
        if not want_payload:
            return head, None
        payload = f.read(size + 1)
    if len(payload) != size:
        what = "truncated" if len(payload) < size else "longer than it should be"
        raise ValueError(f"{path} is {what}: its model holds {len(payload):,} of {size:,} bytes "
                         f"(an interrupted copy?); copy it again or {fix}")
    if hashlib.sha256(payload).hexdigest() != digest:
        raise ValueError(f"{path} is damaged: its model bytes do not match the checksum in its "
                         f"header; copy it again or {fix}")
    return head, payload


def read_header(path: str | os.PathLike) -> dict:
    """The header of a model file (a dict, see :func:`save_predictor`), without unpickling it.

    Raises
    ------
    FileNotFoundError : no such file.
    ValueError : a folder, not a naspredict model file, a newer format, a damaged header.
    """
    return _read(Path(path), want_payload=False)[0]


def load_predictor(path: str | os.PathLike, *, return_header: bool = False):
    """Load a predictor written by :func:`save_predictor`; its tensors land on the CPU.

    Parameters
    ----------
    path : the model file.  It holds a pickle: load only files you trust.
    return_header : also return the header dict.

    Returns
    -------
    Predictor, or ``(Predictor, dict)`` with ``return_header``.  Its predictions equal those
    of the saved predictor.  A warning is issued when torch or scikit-learn differ from the
    versions that wrote the file.

    Raises
    ------
    FileNotFoundError : no such file.
    ValueError : ``path`` is a folder, not a naspredict model file, written in a newer format,
        truncated or damaged (size or checksum mismatch), or its model cannot be rebuilt here
        (a module missing from this installation).
    """
    import torch

    path = Path(path)
    head, payload = _read(path, want_payload=True)
    try:
        obj = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=False)
    except (ModuleNotFoundError, AttributeError, ImportError) as err:
        raise ValueError(f"{path}: cannot rebuild its {head.get('class')} here ({err}); install the "
                         f"naspredict version that wrote it "
                         f"({head.get('versions', {}).get('naspredict')}) or refit the model") from None
    if not isinstance(obj, Predictor):
        raise ValueError(f"{path} holds a {type(obj).__name__}, not a naspredict predictor")
    now = _versions()
    for dist in ("torch", "scikit-learn"):
        then = head.get("versions", {}).get(dist)
        if then and now.get(dist) and then != now[dist]:
            warnings.warn(f"{path} was saved with {dist} {then}, this is {now[dist]}; check its "
                          f"predictions or refit", stacklevel=2)
    return (obj, head) if return_header else obj


__all__ = ["save_predictor", "load_predictor", "read_header", "FORMAT_VERSION", "MAGIC"]

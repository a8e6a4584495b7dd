"""Where data files lie: installed wheels and the shared-data folder beside the project."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def package_file(package: str, *parts: str) -> Path:
    """A file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"package {package!r} is not installed; install naspredict's dependencies "
            f"(pip install -e .) to get the embedded benchmark tables")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from the installed {package!r} package")
    return path


#: the folder set by :func:`set_data_dir` (``naspredict --data-dir``); ``None`` when unset.
_DATA_DIR: Path | None = None

#: environment variables naming the data folder, in the order they are read.
DATA_DIR_ENV = ("NASPREDICT_DATA_DIR", "NASPREDICT_SHARED_DATA")


def set_data_dir(path: str | Path | None) -> None:
    """Use ``path`` as the data folder for this process (``None``: back to the default lookup).

    The folder holds the shared tables in their own layout (``naslib_zc/``, ``nb201_curves/``,
    ``nb201_12epoch/``, see ``PROVENANCE.md`` of the shared data).  The CLI's ``--data-dir``
    calls this.  Raises ``NotADirectoryError`` when ``path`` is not a folder.
    """
    global _DATA_DIR
    if path is None:
        _DATA_DIR = None
        return
    p = Path(path).expanduser()
    if not p.is_dir():
        raise NotADirectoryError(f"data folder {p} does not exist or is not a folder; give the "
                                 f"folder that holds naslib_zc/, nb201_curves/, nb201_12epoch/")
    _DATA_DIR = p.resolve()


def data_dir_candidates() -> list[tuple[str, Path]]:
    """Where the shared data folder is looked for, in order, as ``(how, path)`` pairs.

    An explicit choice (:func:`set_data_dir` / ``--data-dir``, then ``$NASPREDICT_DATA_DIR``,
    then the older ``$NASPREDICT_SHARED_DATA``) is the only place looked when given.  Otherwise:
    ``../shared/data`` beside a source checkout, then ``shared/data`` and ``../shared/data``
    from the working directory (so a wheel install finds the same folder as a checkout when run
    from the project).
    """
    if _DATA_DIR is not None:
        return [("set_data_dir() / --data-dir", _DATA_DIR)]
    for var in DATA_DIR_ENV:
        env = os.environ.get(var)
        if env:
            return [(f"${var}", Path(env).expanduser())]
    cwd = Path.cwd()
    out = [("beside the source checkout", Path(__file__).resolve().parents[3] / "shared" / "data"),
           ("the working directory", cwd / "shared" / "data"),
           ("the working directory's parent", cwd.parent / "shared" / "data")]
    seen, uniq = set(), []
    for how, p in out:
        if p not in seen:
            seen.add(p)
            uniq.append((how, p))
    return uniq


def shared_data_dir() -> Path:
    """The shared data folder: the first of :func:`data_dir_candidates` that exists (the first
    candidate when none does)."""
    cands = data_dir_candidates()
    for _, p in cands:
        if p.is_dir():
            return p
    return cands[0][1]


def shared_file(*parts: str) -> Path:
    """A file in the shared data folder, with an error that says every place it looked."""
    rel = Path(*parts)
    cands = data_dir_candidates()
    for _, d in cands:
        if (d / rel).exists():
            return d / rel
    looked = "; ".join(f"{d / rel} ({how})" for how, d in cands)
    raise FileNotFoundError(
        f"{rel} not found; looked in: {looked}. Pass the file's path explicitly, or point "
        f"naspredict at the data folder with --data-dir DIR or NASPREDICT_DATA_DIR=DIR")

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


def shared_data_dir() -> Path:
    """The shared data folder: ``$NASPREDICT_SHARED_DATA`` or ``../shared/data`` beside the repo."""
    env = os.environ.get("NASPREDICT_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def shared_file(*parts: str) -> Path:
    """A file in the shared data folder, with a clear error when it is absent."""
    path = shared_data_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found. Pass the file's path explicitly, or set NASPREDICT_SHARED_DATA "
            f"to the folder holding {'/'.join(parts[:-1]) or '.'}/")
    return path

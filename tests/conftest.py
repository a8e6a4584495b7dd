from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_or_skip(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data file {path} is absent (tests need ../shared/data beside the repo)")
    return path


@pytest.fixture(scope="session")
def nb201():
    from naspredict import data
    return data.load("nb201-cifar10")

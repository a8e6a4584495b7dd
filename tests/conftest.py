from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_configure(config):
    """The suite is an application: it sets its thread policy once, as the CLI does (library
    calls never change it; naspredict's models are small and slow down with more threads)."""
    from naspredict.torch_utils import set_threads
    set_threads(1, import_torch=True)


def shared_or_skip(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data file {path} is absent (tests need ../shared/data beside the repo)")
    return path


@pytest.fixture(scope="session")
def nb201():
    from naspredict import data
    return data.load("nb201-cifar10")

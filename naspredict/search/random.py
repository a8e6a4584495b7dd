"""Random search: uniform samples, never repeating an architecture."""
from __future__ import annotations

from .base import Strategy


class RandomSearch(Strategy):
    """Uniform random sampling (Li & Talwalkar, 2019: a strong baseline for NAS).  Works for
    any number of objectives."""

    max_objectives = 10

    def _propose(self, n: int) -> list:
        return self.sample_new(n)

"""Random search: uniform samples, never repeating an architecture."""
from __future__ import annotations

from .base import Strategy


class RandomSearch(Strategy):
    """Uniform random sampling (Li & Talwalkar, 2019: a strong baseline for NAS)."""

    def _propose(self, n: int) -> list:
        return self.sample_new(n)

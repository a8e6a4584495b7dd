"""A space narrowed to a fixed set of architectures (the rows of a table).

Tables such as ``nb201-curves`` (200 cells) or the zero-cost tables hold a sample of their
space; a search over them must only propose archs the table can answer.  ``subset_space(base,
archs)`` returns a space that behaves like ``base`` (same name, encodings, canonical forms,
``isinstance`` checks) but samples, enumerates and mutates within ``archs``:

- ``sample`` draws one of the archs uniformly; ``enumerate`` lists them; ``len`` counts them;
- ``neighbours`` are the base space's neighbours that are in the set, and ``mutate`` picks one
  of them (a random member when there is none);
- the choices schema is the base space's (``choices``, ``to_choices``); ``from_choices``
  returns ``None`` for a vector whose arch is not in the set.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any, Iterable, Iterator

import numpy as np

from .base import SearchSpace

__all__ = ["subset_space"]


class _Subset:
    """Mixed in front of a concrete space class by :func:`subset_space`."""

    base: SearchSpace
    rows: list

    def sample(self, rng: np.random.Generator):
        return self.rows[int(rng.integers(len(self.rows)))]

    def enumerate(self) -> Iterator[Any]:
        return iter(self.rows)

    @property
    def finite(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self.rows)

    def neighbours(self, arch) -> list:
        return [b for b in self.base.neighbours(arch) if b in self._members]

    def mutate(self, arch, rng: np.random.Generator):
        nbrs = self.neighbours(arch)
        if not nbrs:
            return self.sample(rng)
        return nbrs[int(rng.integers(len(nbrs)))]

    def from_choices(self, index):
        """The base space's arch for ``index`` when it is in the set, else ``None``
        (``ValueError`` for a malformed vector, as in the base space)."""
        arch = super().from_choices(index)
        return arch if arch is not None and arch in self._members else None

    def __repr__(self) -> str:
        return f"subset_space({self.base!r}, {len(self.rows)} archs)"

    @property
    def space_id(self) -> str:
        # sha1, not hash(): str hashes change from process to process (PYTHONHASHSEED), and the
        # id is written into saved model headers
        digest = hashlib.sha1("\n".join(self.base.to_str(a) for a in self.rows).encode()).hexdigest()[:8]
        return f"{self.base.space_id}|subset:{digest}"

    def __reduce__(self):
        return subset_space, (self.base, self.rows)


@lru_cache(maxsize=None)
def _subset_class(base_cls: type) -> type:
    return type(f"Subset{base_cls.__name__}", (_Subset, base_cls), {"__module__": __name__})


def subset_space(base: SearchSpace, archs: Iterable[Any]) -> SearchSpace:
    """``base`` narrowed to ``archs`` (distinct, in first-seen order; see the module docstring)."""
    rows = list(dict.fromkeys(base.validate(a) for a in archs))
    if not rows:
        raise ValueError("a subset space needs at least one architecture")
    space = object.__new__(_subset_class(type(base)))
    space.__dict__.update(base.__dict__)
    space.base = base
    space.rows = rows
    space._members = frozenset(rows)
    return space

"""``FieldsConfig``: ``replace`` and ``to_dict`` for the frozen settings dataclasses
(:class:`~naspredict.training.TrainConfig`, :class:`~naspredict.oneshot.GradientConfig`)."""
from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any


class FieldsConfig:
    """Mixin for a frozen dataclass of settings."""

    def replace(self, **changes):
        """A copy with ``changes`` (validated again); ``TypeError`` naming the fields for an
        unknown one."""
        names = {f.name for f in fields(self)}
        bad = sorted(set(changes) - names)
        if bad:
            raise TypeError(f"unknown {type(self).__name__} field(s) {bad}; fields are {sorted(names)}")
        return type(self)(**{**asdict(self), **changes})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

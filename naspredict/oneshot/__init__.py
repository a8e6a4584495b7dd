"""Weight sharing: the supernet and the searches and evaluators built on it.

* :class:`Supernet`, :class:`MixedOp` (``supernet.py``): a mixed op on every decision of the
  nb201 / darts cell spaces, with mixed and single-path forwards.
* :func:`gradient_search` (``gradient.py``): DARTS (first / second order), GDAS and DrNAS.
* :func:`plot_op_probabilities` (``plots.py``): op probability per edge against epoch.

Names are imported on first use, so ``naspredict --help`` does not load torch.
"""
from importlib import import_module

_EXPORTS = {"Supernet": "supernet", "MixedOp": "supernet", "SUPERNET_SPACES": "supernet",
            "gradient_search": "gradient", "SearchResult": "gradient", "GradientConfig": "gradient",
            "plot_op_probabilities": "plots"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

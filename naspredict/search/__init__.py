"""Search strategies: ask/tell loops that consult predictors.

``make_strategy(name, space, target, direction, seed, **params)`` builds one of
``strategy_names()``.  The table is explicit; classes load lazily.
"""
from __future__ import annotations

from importlib import import_module

from .base import Proposal, SearchTrace, Strategy
from .loop import Budget, run

_STRATEGIES: dict[str, tuple[str, str, str]] = {
    "random": ("random", "RandomSearch", "uniform random sampling"),
    "evolution": ("evolution", "RegularizedEvolution", "regularized evolution (Real et al., 2019)"),
    "local": ("local", "LocalSearch", "local search (White et al., 2021)"),
    "predictor-evolution": ("npenas", "PredictorGuidedEvolution", "NPENAS: mutants ranked by a predictor"),
    "bo": ("bo", "BayesianOptimization", "BO: predictor with std + EI/UCB/Thompson acquisition"),
    "nao": ("nao", "NAOSearch", "gradient ascent in NAO's embedding, then decoding"),
    "rl": ("rl", "ReinforceSearch", "REINFORCE LSTM controller (Zoph & Le, 2017)"),
    "enas": ("enas", "ENASSearch", "ENAS: controller rewarded by one-shot accuracy of a shared supernet (Pham et al., 2018)"),
    "mobo": ("mobo", "MultiObjectiveBO", "multi-objective BO: qNEHVI / qNParEGO (BoTorch)"),
    "mf-bo": ("mfbo", "MultiFidelityBO", "multi-fidelity BO: mtgp surrogate, cost-aware augmented EI picks arch and fidelity"),
    "hyperband": ("hyperband", "Hyperband", "Hyperband over epoch levels (Li et al., JMLR 2018)"),
    "successive-halving": ("hyperband", "SuccessiveHalving", "successive halving over epoch levels (Jamieson & Talwalkar, 2016)"),
    "bohb": ("hyperband", "BOHB", "BOHB: Hyperband with TPE-style density proposals (Falkner et al., ICML 2018)"),
}


def strategy_names() -> list[str]:
    """Names :func:`make_strategy` knows."""
    return list(_STRATEGIES)


def describe() -> dict[str, str]:
    """Strategy name -> one-line description."""
    return {k: v[2] for k, v in _STRATEGIES.items()}


def strategy_class(name: str) -> type[Strategy]:
    """The class behind a strategy name."""
    if name not in _STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; expected one of {', '.join(_STRATEGIES)}")
    module, cls, _ = _STRATEGIES[name]
    return getattr(import_module(f"{__name__}.{module}"), cls)


def make_strategy(name: str, space, target="accuracy", direction=None, seed: int = 0, **params) -> Strategy:
    """Build the strategy called ``name``; ``params`` go to its constructor (e.g. ``predictor``)."""
    return strategy_class(name)(space, target=target, direction=direction, seed=seed, **params)


__all__ = ["Strategy", "Proposal", "SearchTrace", "Budget", "run", "make_strategy", "strategy_names",
           "strategy_class", "describe"]

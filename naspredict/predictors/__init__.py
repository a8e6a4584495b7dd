"""Performance predictors: scikit-learn regressors over lists of architectures.

>>> from naspredict.predictors import make, names
>>> model = make("gp", space="nb201", random_state=0).fit(archs, y)
>>> mean, std = model.predict(test_archs, return_std=True)
>>> save_predictor(model, "gp.nspm"); load_predictor("gp.nspm").predict(test_archs)

The registry below is an explicit table (no import-time registration); classes load lazily.
"""
from __future__ import annotations

from importlib import import_module

from .base import Posterior, Predictor
from .io import load_predictor, read_header, save_predictor

#: name -> (module, class, default parameters, one-line description)
_REGISTRY: dict[str, tuple[str, str, dict, str]] = {
    "gp": ("gp", "GPPredictor", {}, "exact Gaussian process (gpytorch) on an encoding"),
    "botorch-gp": ("mogp", "BoTorchGPPredictor", {}, "BoTorch SingleTaskGP, one or several batched outputs (mobo's surrogate)"),
    "mtgp": ("mtgp", "MultiTaskGPPredictor", {}, "multi-fidelity / multi-task exact GP: arch x fidelity x task product kernel"),
    "gcn-blr": ("gcn", "GCNBLRPredictor", {}, "GCN embedding + Bayesian linear regression (BOGCN-NAS, BONAS)"),
    "gcn": ("gcn", "GCNPredictor", {}, "plain GCN neural predictor (Wen et al., 2020)"),
    "nao": ("nao", "NAOPredictor", {}, "NAO encoder-predictor-decoder (Luo et al., 2018)"),
    "semi": ("semi", "SemiSupervisedPredictor", {}, "SemiNAS self-labelling around any predictor"),
    "lc-srm": ("lc_srm", "LearningCurveSRM", {}, "learning-curve sequential regression (Baker et al., 2018)"),
    "mlp-ensemble": ("mlp", "MLPEnsemblePredictor", {}, "ensemble of MLPs on the path encoding (BANANAS)"),
    "rf": ("trees", "RandomForestPredictor", {}, "random forest on an encoding (default: GRAF features + one-hot)"),
    "xgb": ("trees", "XGBPredictor", {}, "XGBoost on an encoding (default: one-hot)"),
    "ensemble": ("ensemble", "EnsemblePredictor", {}, "rank-averaging ensemble of other predictors"),
    "transfer": ("transfer", "TransferPredictor", {}, "any predictor plus a related task's values (source as features / residual, or fine-tuning)"),
    "synflow": ("zerocost", "ZeroCostPredictor", {"proxy": "synflow"}, "zero-cost proxy synflow (NASLib files)"),
    "jacov": ("zerocost", "ZeroCostPredictor", {"proxy": "jacov"}, "zero-cost proxy jacov (NASLib files)"),
    "params": ("zerocost", "ZeroCostPredictor", {"proxy": "params"}, "parameter count as a one-feature predictor"),
    "flops": ("zerocost", "ZeroCostPredictor", {"proxy": "flops"}, "FLOPs as a one-feature predictor"),
}


def names() -> list[str]:
    """Names accepted by :func:`make`."""
    return list(_REGISTRY)


def describe() -> dict[str, str]:
    """Name -> one-line description."""
    return {k: v[3] for k, v in _REGISTRY.items()}


def predictor_class(name: str) -> type[Predictor]:
    if name not in _REGISTRY:
        raise ValueError(f"unknown predictor {name!r}; expected one of {', '.join(_REGISTRY)}")
    module, cls, _, _ = _REGISTRY[name]
    return getattr(import_module(f"{__name__}.{module}"), cls)


def accepting(input_name: str) -> list[str]:
    """Registry names whose class takes ``input_name`` (``"fidelity"``, ``"task"``, ``"curves"``
    or ``"sample_weight"``) on fit, e.g. ``accepting("task")``."""
    from .base import CONTEXT_INPUTS
    if input_name not in (*CONTEXT_INPUTS, "sample_weight"):
        raise ValueError(f"unknown input {input_name!r}; expected one of "
                         f"{', '.join((*CONTEXT_INPUTS, 'sample_weight'))}")
    out = []
    for name in _REGISTRY:
        try:
            cls = predictor_class(name)
        except ImportError:  # an optional dependency is missing: it takes nothing here
            continue
        if input_name == "sample_weight":
            ok = getattr(cls, "accepts_sample_weight", False) is True
        else:
            declared = getattr(cls, "context_inputs", frozenset())
            ok = isinstance(declared, frozenset) and input_name in declared
        if ok:
            out.append(name)
    return out


def make(name: str, **params) -> Predictor:
    """Build the predictor called ``name`` with ``params`` (passed to its constructor).  A
    ``space`` given by name is checked here (constructors only store it, scikit-learn style,
    so a misspelt space would otherwise surface at ``fit``)."""
    cls = predictor_class(name)
    if params.get("space") is not None:
        from ..spaces import resolve_space
        resolve_space(params["space"])
    defaults = dict(_REGISTRY[name][2])
    defaults.update(params)
    return cls(**defaults)


__all__ = ["Predictor", "Posterior", "accepting", "make", "names", "describe", "predictor_class", "save_predictor",
           "load_predictor", "read_header"]

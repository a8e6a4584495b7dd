"""A stored run as an Optuna study, so optuna-dashboard and Optuna's plots work on it.

``naspredict export RUN --optuna sqlite:///study.db`` (or :func:`export_to_optuna`) writes one
Optuna trial per finished naspredict trial:

- **params**: the architecture's choices (:meth:`SearchSpace.choices`), one categorical
  parameter per decision, named as the choice (``"edge 0->1"``...), its options written as
  text where they are not plain values (DARTS input pairs, NAS-Bench-Graph links); a space
  without a choices schema gets no params;
- **values**: the run's targets, in the run's directions (a multi-objective study for several);
- **state**: complete, pruned (with its per-epoch values as intermediate values) or failed;
- **user attributes**: ``arch`` (the space's string form, :meth:`SearchSpace.from_str` reads
  it back), ``fidelity``, ``cost``, ``trial`` (naspredict's number) and every metric.

Optuna is an optional dependency (the ``bench`` extra); the error says how to install it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .spaces import get_space
from .store import ResultsStore
from .trials import TrialState

__all__ = ["export_to_optuna"]

_PLAIN = (type(None), bool, int, float, str)


def _option(value: Any) -> Any:
    return value if isinstance(value, _PLAIN) else str(value)


def _intermediate(result, target: str) -> dict[int, float]:
    """Per-epoch values for Optuna's intermediate values: the target's own curve, else the
    ``val`` curve, else the only one."""
    curves = result.curves or {}
    name = target if target in curves else ("val" if "val" in curves else
                                            (next(iter(curves)) if len(curves) == 1 else None))
    if name is None:
        return {}
    return {i + 1: float(v) for i, v in enumerate(curves[name]) if v is not None and np.isfinite(v)}


def export_to_optuna(store: ResultsStore, run: str, storage: str, study_name: str | None = None):
    """Write run ``run`` of ``store`` into the Optuna ``storage`` (a URL such as
    ``sqlite:///study.db``, or an ``optuna.storages`` object) as a new study.

    Returns the ``optuna.Study``.  Raises ``ValueError`` when the run does not exist, has no
    finished trial, or a study of that name already exists in the storage (pass another
    ``study_name``), and ``ImportError`` (with the install line) without Optuna.
    """
    try:
        import optuna
    except ImportError:  # pragma: no cover - optuna is in the bench extra
        raise ImportError("exporting to Optuna needs optuna: pip install optuna "
                          "(or pip install 'naspredict[bench]')") from None
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import TrialState as OptunaState

    info = store.get_run(run)
    if info is None:
        raise ValueError(f"no run named {run!r} in {store.path}; see `naspredict runs --store {store.path}`")
    cfg = info["config"]
    targets, directions = list(cfg.get("targets") or []), list(cfg.get("directions") or [])
    if not targets or len(directions) != len(targets):
        raise ValueError(f"run {run!r} stores no targets with directions (made by an older "
                         f"version?); it cannot become an Optuna study")
    trials = store.trials(run, finished=True)
    if not trials:
        raise ValueError(f"run {run!r} has no finished trials to export")
    space = get_space(info["space"])
    choices = space.choices() if space.has_choices else ()
    dists = {c.name: CategoricalDistribution([_option(o) for o in c.options]) for c in choices}
    name = study_name or run
    where = storage
    if isinstance(storage, str):
        try:
            storage = optuna.storages.RDBStorage(storage)
        except Exception as err:  # sqlalchemy's URL / driver errors have no common base here
            raise ValueError(f"--optuna {storage}: not a usable Optuna storage URL "
                             f"({type(err).__name__}: {str(err).splitlines()[0]}); give one like "
                             f"sqlite:///study.db") from None
    if name in optuna.study.get_all_study_names(storage):
        raise ValueError(f"a study named {name!r} already exists in {where}; pass another "
                         f"study name (--study-name) or delete it")
    study = optuna.create_study(storage=storage, study_name=name,
                                directions=["maximize" if d == "max" else "minimize" for d in directions])
    study.set_user_attr("naspredict_run", run)
    study.set_user_attr("space", info["space"])
    for t in trials:
        r = t.result
        arch = space.from_str(t.arch) if isinstance(t.arch, str) else t.arch
        params = {}
        if choices:
            idx = space.to_choices(arch)
            params = {c.name: _option(c.options[i]) for c, i in zip(choices, idx)}
        attrs = {"arch": space.to_str(arch), "fidelity": t.fidelity.key(), "cost": float(r.cost),
                 "trial": t.id, **{f"metric:{k}": float(v) for k, v in r.metrics.items()}}
        values = [r.metrics.get(m) for m in targets]
        complete = r.state == TrialState.COMPLETE and all(v is not None and np.isfinite(v) for v in values)
        if complete:
            state, vals = OptunaState.COMPLETE, [float(v) for v in values]
        elif r.state == TrialState.PRUNED:
            state, vals = OptunaState.PRUNED, None
        else:
            state, vals = OptunaState.FAIL, None
        study.add_trial(optuna.trial.create_trial(
            state=state, values=vals, params=params, distributions=dists if params else {},
            user_attrs=attrs, intermediate_values=_intermediate(r, targets[0])))
    return study

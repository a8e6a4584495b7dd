"""Pareto fronts and hypervolumes for multi-objective search.

Conventions: objectives are the columns of ``Y`` (``n x m``); unless said otherwise every
function *maximises* every objective.  Use :func:`signed` to turn a table with minimised
columns into the maximisation form (the reference point is turned the same way).

* :func:`pareto_front` -- mask of the non-dominated rows (block-wise "simple cull" after a
  sort by the sum of objectives, so that a row can only be dominated by rows sorted before it;
  Kung, Luccio & Preparata, J. ACM 1975 give the classic maxima algorithms).
* :func:`hypervolume` -- the Lebesgue measure of the region dominated by ``Y`` and dominating
  the reference point (Zitzler & Thiele, PPSN 1998).  Exact: a sweep for ``m = 2``, slicing
  along the last objective with 2-D sweeps per slice for ``m = 3`` ("HSO", While et al.,
  IEEE TEC 2006), and BoTorch's dimension-sweep ``Hypervolume`` (Fonseca, Paquete &
  Lopez-Ibanez, CEC 2006) for ``m > 3``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def signed(Y, directions: Sequence[str]) -> np.ndarray:
    """``Y`` with each column multiplied by ``+1`` (``"max"``) or ``-1`` (``"min"``).

    Works for a single point (``m``-vector, e.g. a reference point) or a table ``(n, m)``.
    """
    Y = np.asarray(Y, dtype=float)
    dirs = list(directions)
    if any(d not in ("max", "min") for d in dirs):
        raise ValueError(f"directions must be 'max' or 'min'; got {dirs}")
    if Y.shape[-1] != len(dirs):
        raise ValueError(f"Y has {Y.shape[-1]} objectives but {len(dirs)} directions were given")
    return Y * np.array([1.0 if d == "max" else -1.0 for d in dirs])


def _as_matrix(Y) -> np.ndarray:
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1) if Y.size else Y.reshape(0, 1)
    if Y.ndim != 2:
        raise ValueError(f"expected an (n, m) array of objective values, got shape {Y.shape}")
    return Y


def pareto_front(Y, maximize: bool = True, block: int = 512) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``Y`` (``n x m``).

    Row ``a`` dominates row ``b`` when it is at least as good in every objective and strictly
    better in one; rows that are exact duplicates of a non-dominated row are all kept.  Rows
    holding NaN are never on the front.  ``maximize=False`` minimises every column.

    The rows are sorted by the sum of their objectives (a dominating row has a strictly larger
    sum, so it comes first) and culled block-wise against the front found so far and within
    the block: ``O(n (|front| + block) m)`` time and memory.  Two objectives take an exact
    ``O(n log n)`` sweep instead (:func:`_front_2d`).  Kept over library code as measured (the
    ecosystem audit): on nbgraph-cora (26,206 x 2) the cull took 0.022 s against BoTorch's
    ``is_non_dominated`` 0.139 s with identical masks, and BoTorch's mask breaks on NaN rows.
    """
    Y = _as_matrix(Y)
    if not maximize:
        Y = -Y
    n = len(Y)
    mask = np.zeros(n, dtype=bool)
    ok = np.isfinite(Y).all(axis=1) if n else np.zeros(0, bool)
    idx = np.nonzero(ok)[0]
    if len(idx) == 0:
        return mask
    if Y.shape[1] == 2:
        mask[idx] = _front_2d(Y[idx])
        return mask
    order = idx[np.argsort(-Y[idx].sum(axis=1), kind="stable")]
    front = np.empty((0, Y.shape[1]))
    kept: list[np.ndarray] = []
    for start in range(0, len(order), block):
        rows = order[start: start + block]
        P = Y[rows]
        if len(front):  # dominated by the front so far?
            ge = (front[None, :, :] >= P[:, None, :]).all(-1)
            gt = (front[None, :, :] > P[:, None, :]).any(-1)
            alive = ~(ge & gt).any(1)
            rows, P = rows[alive], P[alive]
        if len(rows) > 1:  # dominated within the block?
            ge = (P[None, :, :] >= P[:, None, :]).all(-1)
            gt = (P[None, :, :] > P[:, None, :]).any(-1)
            alive = ~(ge & gt).any(1)
            rows, P = rows[alive], P[alive]
        if len(rows):
            kept.append(rows)
            front = np.vstack([front, P])
    if kept:
        mask[np.concatenate(kept)] = True
    return mask


def _front_2d(Y: np.ndarray) -> np.ndarray:
    """Non-dominated mask of finite 2-D rows (maximising), by one sort: a row is on the front
    when it has the largest second objective among the rows sharing its first, and a strictly
    larger one than every row with a larger first objective (exact duplicates both stay)."""
    u, inv = np.unique(-Y[:, 0], return_inverse=True)  # groups by first objective, descending
    group_max = np.full(len(u), -np.inf)
    np.maximum.at(group_max, inv, Y[:, 1])
    before = np.concatenate([[-np.inf], np.maximum.accumulate(group_max)[:-1]])
    return (Y[:, 1] == group_max[inv]) & (Y[:, 1] > before[inv])


def _hv2d(P: np.ndarray, ref: np.ndarray) -> float:
    """Exact 2-D hypervolume of points ``P`` that all strictly dominate ``ref`` (maximising).

    A vectorised sweep: sorted by the first objective (descending), each point adds the strip
    between its first objective and the reference, as tall as it raises the running maximum
    of the second.  It replaced a Python loop that took 2.15 s on a 10,000-point front (the
    ecosystem audit; moocore's C code takes 3e-4 s there); see ``benchmarks/pareto_speed.py``.
    """
    if len(P) == 0:
        return 0.0
    order = np.lexsort((-P[:, 1], -P[:, 0]))  # by y0 desc, then y1 desc
    P = P[order]
    top = np.maximum.accumulate(np.maximum(P[:, 1], ref[1]))
    rise = np.diff(top, prepend=ref[1])
    return float(np.dot(P[:, 0] - ref[0], rise))


def _hv3d(P: np.ndarray, ref: np.ndarray) -> float:
    """Exact 3-D hypervolume by slicing along the last objective (2-D sweep per slab)."""
    if len(P) == 0:
        return 0.0
    levels = np.unique(P[:, 2])[::-1]  # descending
    hv = 0.0
    for i, z in enumerate(levels):
        below = levels[i + 1] if i + 1 < len(levels) else ref[2]
        slab = P[P[:, 2] >= z, :2]
        hv += _hv2d(slab[pareto_front(slab)], ref[:2]) * (z - below)
    return float(hv)


def hypervolume(Y, ref) -> float:
    """Hypervolume dominated by the rows of ``Y`` and bounded below by ``ref`` (maximising).

    Only rows strictly better than ``ref`` in every objective contribute (a row that does not
    dominate the reference point bounds no volume); rows with NaN are ignored.  Exact for every
    ``m``: sweep (``m = 2``), slicing (``m = 3``), BoTorch's dimension-sweep algorithm
    (``m > 3``).  For minimised objectives pass ``signed(Y, dirs)`` and ``signed(ref, dirs)``.
    """
    Y = _as_matrix(Y)
    ref = np.asarray(ref, dtype=float).reshape(-1)
    if Y.shape[0] and Y.shape[1] != ref.size:
        raise ValueError(f"Y has {Y.shape[1]} objectives but the reference point has {ref.size}")
    if not np.isfinite(ref).all():
        raise ValueError(f"the reference point must be finite, got {ref}")
    if Y.shape[0] == 0:
        return 0.0
    Y = Y[np.isfinite(Y).all(axis=1)]
    P = Y[(Y > ref).all(axis=1)]
    if len(P) == 0:
        return 0.0
    P = P[pareto_front(P)]
    m = ref.size
    if m == 1:
        return float(P[:, 0].max() - ref[0])
    if m == 2:
        return _hv2d(P, ref)
    if m == 3:
        return _hv3d(P, ref)
    import torch
    from botorch.utils.multi_objective.hypervolume import Hypervolume

    return float(Hypervolume(torch.as_tensor(ref, dtype=torch.double)).compute(
        torch.as_tensor(P, dtype=torch.double)))


def nondominated_cells(front, ref) -> tuple[np.ndarray, np.ndarray]:
    """Boxes ``(lower, upper)`` (each ``n_cells x m``, ``upper`` may be ``inf``) that tile the
    region above ``ref`` *not* dominated by ``front`` (maximising).

    Uses BoTorch's ``FastNondominatedPartitioning`` (Lacour, Klamroth & Fonseca, 2017, as
    used by qEHVI, Daulton et al., NeurIPS 2020).  With these cells the hypervolume improvement
    of a point ``y`` is ``sum_c prod_j max(0, min(y_j, upper_cj) - lower_cj)``
    (:func:`hypervolume_improvement`).
    """
    import torch
    from botorch.utils.multi_objective.box_decompositions.non_dominated import (
        FastNondominatedPartitioning)

    ref = np.asarray(ref, dtype=float).reshape(-1)
    F = _as_matrix(front).reshape(-1, ref.size) if np.size(front) else np.empty((0, ref.size))
    F = F[np.isfinite(F).all(1)]
    F = F[(F > ref).all(1)]
    part = FastNondominatedPartitioning(ref_point=torch.as_tensor(ref, dtype=torch.double),
                                        Y=torch.as_tensor(F, dtype=torch.double))
    b = part.get_hypercell_bounds().numpy()
    return b[0], b[1]


def hypervolume_improvement(Y_new, front, ref, cells=None) -> np.ndarray:
    """Hypervolume gained by adding each row of ``Y_new`` (alone) to ``front`` (maximising).

    ``Y_new`` may have leading batch dimensions (``... x m``, e.g. Monte-Carlo samples); the
    result has the same leading shape.  ``cells`` (from :func:`nondominated_cells`) can be
    passed to reuse a decomposition.
    """
    lo, up = nondominated_cells(front, ref) if cells is None else cells
    Y = np.asarray(Y_new, dtype=float)
    ext = np.clip(np.minimum(Y[..., None, :], up) - lo, 0.0, None)  # ... x cells x m
    return ext.prod(-1).sum(-1)


def hypervolume_trace(Y, ref) -> np.ndarray:
    """Hypervolume of the first ``k`` rows of ``Y`` for ``k = 1..n`` (maximising).

    Recomputes only when a new row improves on the reference point and is not dominated by
    the rows before it.
    """
    Y = _as_matrix(Y)
    ref = np.asarray(ref, dtype=float).reshape(-1)
    out = np.zeros(len(Y))
    hv, front = 0.0, np.empty((0, ref.size))
    for k, y in enumerate(Y):
        if np.isfinite(y).all() and (y > ref).all():
            dominated = len(front) and ((front >= y).all(1) & (front > y).any(1)).any()
            if not dominated:
                front = np.vstack([front, y])
                front = front[pareto_front(front)]
                hv = hypervolume(front, ref)
        out[k] = hv
    return out


__all__ = ["signed", "pareto_front", "hypervolume", "hypervolume_trace", "hypervolume_improvement",
           "nondominated_cells"]

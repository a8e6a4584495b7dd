"""Node-classification graphs from local files, as one PyG ``Data`` with split masks.

Sources (nothing is downloaded):

* ``"karate"``: Zachary's karate club, embedded in PyG (``torch_geometric.datasets.KarateClub``:
  34 nodes, 156 directed edges, 4 classes, one-hot node features).
* ``"cora"``, ``"citeseer"``, ``"pubmed"``: a local Planetoid folder given as ``root=`` (either
  the folder holding ``Cora/raw/ind.cora.x`` ... or ``Cora/`` itself), read with
  ``torch_geometric.datasets.Planetoid``.  The raw files are checked first, so PyG never tries
  to download them; on the first load PyG writes ``processed/`` beside ``raw/``.
* a path to a ``.pt`` file holding a saved ``Data`` (``torch.save(data, path)``) or a dict of its
  tensors (``torch.save(data.to_dict(), path)``), loaded with ``weights_only=True``.

Splits: where the data set ships ``train_mask``, ``val_mask`` and ``test_mask`` (Planetoid's
public split) and no fraction is given, they are kept (2-D masks of shape ``(N, S)``, several
shipped splits, use column ``seed % S``).  Otherwise the nodes are split per class, shuffled by
a ``numpy.random.Generator`` seeded by ``seed`` (never the global RNG).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = ["GraphData", "load_graph", "subsample", "GRAPH_DATASETS", "node_split"]

PLANETOID = ("cora", "citeseer", "pubmed")
#: the names :func:`load_graph` knows (besides paths to .pt files)
GRAPH_DATASETS = ("karate",) + PLANETOID
_PLANETOID_RAW = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
_PLANETOID_DIR = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
_DEFAULT_TRAIN, _DEFAULT_VAL = 0.6, 0.2
_STREAM_SPLIT, _STREAM_FRACTION = 201, 202


@dataclass
class GraphData:
    """One node-classification graph.

    Attributes
    ----------
    data : ``torch_geometric.data.Data`` with ``x`` float32 ``(N, F)``, ``edge_index`` int64
        ``(2, E)``, ``y`` int64 ``(N,)`` (``-1`` marks an unlabelled node, in no mask), and bool
        ``train_mask`` / ``val_mask`` / ``test_mask`` of shape ``(N,)``, pairwise disjoint.
    n_features : ``F``.
    n_classes : number of classes (labels ``0..n_classes-1``).
    name : the data set's name (or the file's stem).
    source : where it came from.
    seed : the seed of the split.
    info : how the split was made (``"shipped"`` masks or ``"random"`` with its fractions).
    """

    data: "torch_geometric.data.Data"  # noqa: F821
    n_features: int
    n_classes: int
    name: str
    source: str = ""
    seed: int = 0
    info: dict = field(default_factory=dict)

    def to(self, device: torch.device | str) -> "GraphData":
        """A copy with the graph's tensors on ``device``."""
        return replace(self, data=self.data.to(device))

    @property
    def device(self) -> torch.device:
        """The device the tensors are on."""
        return self.data.x.device

    @property
    def n_nodes(self) -> int:
        """Number of nodes ``N``."""
        return int(self.data.num_nodes)

    @property
    def sizes(self) -> dict[str, int]:
        """Nodes per split: ``{"train": ..., "val": ..., "test": ...}``."""
        d = self.data
        return {k: int(getattr(d, f"{k}_mask").sum()) for k in ("train", "val", "test")}

    def __repr__(self) -> str:
        return (f"GraphData({self.name!r}, nodes={self.n_nodes}, "
                f"edges={int(self.data.edge_index.shape[1])}, n_features={self.n_features}, "
                f"n_classes={self.n_classes}, sizes={self.sizes})")


def node_split(y: Tensor | np.ndarray, train_fraction: float, val_fraction: float,
               rng: np.random.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """Stratified random node masks.

    Per class of ``n_c`` labelled nodes: ``max(1, round(train_fraction * n_c))`` training
    nodes, then ``round(val_fraction * n_c)`` validation nodes (at most what is left), the
    rest test.  Nodes with a negative label are in no mask.  Returns three bool tensors of
    shape ``(N,)``.
    """
    y = np.asarray(y.cpu() if isinstance(y, Tensor) else y)
    masks = [np.zeros(len(y), bool) for _ in range(3)]
    for c in np.unique(y[y >= 0]):
        members = np.flatnonzero(y == c)
        members = members[rng.permutation(len(members))]
        n_tr = max(1, round(train_fraction * len(members)))
        n_va = min(round(val_fraction * len(members)), len(members) - n_tr)
        masks[0][members[:n_tr]] = True
        masks[1][members[n_tr:n_tr + n_va]] = True
        masks[2][members[n_tr + n_va:]] = True
    return tuple(torch.from_numpy(m) for m in masks)


def _planetoid(name: str, root) -> tuple["Data", str]:  # noqa: F821
    if root is None:
        raise FileNotFoundError(
            f"{name}: give root= a local Planetoid folder (holding {_PLANETOID_DIR[name]}/raw/"
            f"ind.{name}.x ...); nothing is downloaded")
    root = Path(root).expanduser()
    files = [f"ind.{name}.{s}" for s in _PLANETOID_RAW]
    candidates = []
    if (root / "raw").is_dir():  # root is the data set's own folder
        candidates.append(root)
    if root.is_dir():
        candidates += [p for p in sorted(root.iterdir()) if p.is_dir() and p.name.lower() == name]
    for c in candidates:
        if all((c / "raw" / f).is_file() for f in files):
            from torch_geometric.datasets import Planetoid
            # Planetoid's folder is root/<name as given>/raw: pass the folder's own spelling;
            # its processed file holds a Data, which weights_only loading must be allowed
            with torch.serialization.safe_globals(_pyg_globals()):
                return Planetoid(str(c.parent), c.name)[0], str(c)
    looked = [str(c / "raw") for c in candidates] or [str(root / _PLANETOID_DIR[name] / "raw")]
    raise FileNotFoundError(
        f"{name} Planetoid raw files not found: looked in {', '.join(looked)} for "
        f"{', '.join(files)}. Pass root= the folder that holds {_PLANETOID_DIR[name]}/raw/ "
        "(PyG's Planetoid layout); nothing is downloaded")


def _pyg_globals() -> list:
    """The classes a pickled ``Data`` refers to (for ``torch.load(weights_only=True)``)."""
    from torch_geometric.data import Data
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage
    return [Data, DataEdgeAttr, DataTensorAttr, GlobalStorage]


def _load_pt(path: Path, weights_only: bool):
    from torch_geometric.data import Data
    try:
        with torch.serialization.safe_globals(_pyg_globals()):
            obj = torch.load(path, map_location="cpu", weights_only=weights_only)
    except Exception as e:  # noqa: BLE001
        raise ValueError(f"{path}: cannot load this graph file ({type(e).__name__}: "
                         f"{str(e).splitlines()[0][:300]}); save the graph as "
                         "torch.save(data.to_dict(), path), or pass weights_only=False if you "
                         "trust the file") from e
    if isinstance(obj, dict):
        if not {"x", "edge_index", "y"} <= set(obj):
            raise ValueError(f"{path}: a graph dict needs 'x', 'edge_index' and 'y', "
                             f"found {sorted(obj)}")
        obj = Data(**obj)
    if not isinstance(obj, Data):
        raise ValueError(f"{path}: expected a torch_geometric Data or a dict of its tensors, "
                         f"got {type(obj).__name__}")
    return obj


def _check(data, where: str):
    x, ei, y = data.x, data.edge_index, data.y
    if not isinstance(x, Tensor) or x.dim() != 2:
        raise ValueError(f"{where}: node features x must be an (N, F) tensor, got "
                         f"{None if x is None else tuple(x.shape)}")
    n = x.shape[0]
    if not isinstance(y, Tensor) or y.shape != (n,) or y.is_floating_point():
        raise ValueError(f"{where}: y must be an int tensor of shape ({n},) (one class per "
                         f"node), got {None if y is None else (tuple(y.shape), y.dtype)}")
    if not isinstance(ei, Tensor) or ei.dim() != 2 or ei.shape[0] != 2 or ei.is_floating_point():
        raise ValueError(f"{where}: edge_index must be an int tensor of shape (2, E), got "
                         f"{None if ei is None else (tuple(ei.shape), ei.dtype)}")
    if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n):
        raise ValueError(f"{where}: edge_index refers to nodes outside 0..{n - 1}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{where}: x holds NaN or infinite values")


def load_graph(name_or_path: str | os.PathLike, *, root: str | os.PathLike | None = None,
               seed: int = 0, train_fraction: float | None = None,
               val_fraction: float | None = None, data_fraction: float | None = 1.0,
               weights_only: bool = True) -> GraphData:
    """Load a node-classification graph from local data and give it split masks.

    Parameters
    ----------
    name_or_path : ``"karate"``, ``"cora"``, ``"citeseer"``, ``"pubmed"`` (with ``root=``), or
        a path to a ``.pt`` file of a saved ``Data`` / dict of its tensors.
    root : the local Planetoid folder (see the module docstring).
    seed : seeds the random split; selects the shipped split for 2-D masks.
    train_fraction, val_fraction : per-class shares of the labelled nodes for a random split
        (defaults 0.6 and 0.2 when only the other is given; the rest is test).  Both ``None``:
        keep shipped masks when all three exist, else split 0.6 / 0.2 / 0.2.
    data_fraction : in ``(0, 1]`` (``None`` = 1): keep this share of the training nodes (see
        :func:`subsample`); validation and test masks are unchanged.
    weights_only : passed to ``torch.load`` for ``.pt`` files (``False`` only for trusted files).

    Returns
    -------
    GraphData, on the CPU (use :meth:`GraphData.to`).

    Raises
    ------
    FileNotFoundError : missing files, naming what was looked for and ``root=``.
    ValueError : bad arguments (unknown names are listed), malformed graphs.

    Example
    -------
    >>> g = load_graph("karate", seed=0)
    >>> g.data.x.shape, g.n_classes, g.sizes
    (torch.Size([34, 34]), 4, {'train': 20, 'val': 7, 'test': 7})
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    for nm, v in (("train_fraction", train_fraction), ("val_fraction", val_fraction)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                              or not 0 <= v < 1 or (nm == "train_fraction" and v == 0)):
            raise ValueError(f"{nm} must be in {'(0' if nm == 'train_fraction' else '[0'}, 1), "
                             f"got {v!r}")
    if data_fraction is not None and (isinstance(data_fraction, bool)
                                      or not isinstance(data_fraction, (int, float))
                                      or not 0 < data_fraction <= 1):
        raise ValueError(f"data_fraction must be in (0, 1], got {data_fraction!r}")
    random_split = train_fraction is not None or val_fraction is not None
    tf = _DEFAULT_TRAIN if train_fraction is None else float(train_fraction)
    vf = _DEFAULT_VAL if val_fraction is None else float(val_fraction)
    if tf + vf >= 1:
        raise ValueError(f"train_fraction + val_fraction must be < 1 (leave test nodes), "
                         f"got {tf} + {vf}")

    if isinstance(name_or_path, os.PathLike) or (
            isinstance(name_or_path, str) and (name_or_path.endswith(".pt") or os.sep in name_or_path)):
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"graph file {path} not found (a .pt of a saved "
                                    "torch_geometric Data or of data.to_dict())")
        data, name, source = _load_pt(path, weights_only), path.stem, str(path)
    elif isinstance(name_or_path, str) and name_or_path.lower() == "karate":
        from torch_geometric.datasets import KarateClub
        data, name, source = KarateClub()[0], "karate", "torch_geometric.datasets.KarateClub"
    elif isinstance(name_or_path, str) and name_or_path.lower() in PLANETOID:
        name = name_or_path.lower()
        data, source = _planetoid(name, root)
    else:
        raise ValueError(f"unknown graph data set {name_or_path!r}: known names are "
                         f"{', '.join(GRAPH_DATASETS)}; or give a path to a .pt file")

    data = data.clone()
    _check(data, source)
    data.x = data.x.to(torch.float32)
    data.y = data.y.to(torch.int64)
    data.edge_index = data.edge_index.to(torch.int64)
    n = data.x.shape[0]
    shipped = [getattr(data, f"{k}_mask", None) for k in ("train", "val", "test")]
    if not random_split and all(isinstance(m, Tensor) for m in shipped):
        masks, info = [], {"split": "shipped"}
        for k, m in zip(("train", "val", "test"), shipped):
            if m.dim() == 2:
                info["column"] = seed % m.shape[1]
                m = m[:, seed % m.shape[1]]
            if m.shape != (n,):
                raise ValueError(f"{source}: {k}_mask must have shape ({n},) or ({n}, S), got "
                                 f"{tuple(m.shape)}")
            masks.append(m.to(torch.bool))
        if (masks[0] & masks[1]).any() or (masks[0] & masks[2]).any() or (masks[1] & masks[2]).any():
            raise ValueError(f"{source}: the shipped masks overlap; pass train_fraction= for a "
                             "random split")
    else:
        masks = node_split(data.y, tf, vf, np.random.default_rng([_STREAM_SPLIT, int(seed)]))
        info = {"split": "random", "train_fraction": tf, "val_fraction": vf}
    data.train_mask, data.val_mask, data.test_mask = masks
    labelled = data.y[data.y >= 0]
    n_classes = int(labelled.max()) + 1 if labelled.numel() else 0
    g = GraphData(data=data, n_features=int(data.x.shape[1]), n_classes=n_classes, name=name,
                  source=source, seed=int(seed), info=info)
    return subsample(g, data_fraction, seed=seed) if data_fraction not in (None, 1, 1.0) else g


def subsample(graph: GraphData, data_fraction: float, *, seed: int = 0) -> GraphData:
    """A copy of ``graph`` whose ``train_mask`` keeps ``max(1, round(data_fraction * n))`` of
    its ``n`` training nodes, stratified by class and seeded by ``seed``; for one seed a smaller
    fraction's nodes are a subset of a larger one's (a prefix of one
    :func:`~naspredict.training.data.stratified_order`).  Validation and test masks, features
    and edges are shared with ``graph`` (not copied)."""
    from .data import stratified_order
    if isinstance(data_fraction, bool) or not isinstance(data_fraction, (int, float)) \
            or not 0 < data_fraction <= 1:
        raise ValueError(f"data_fraction must be in (0, 1], got {data_fraction!r}")
    if data_fraction == 1:
        return graph
    d = graph.data
    train = d.train_mask.nonzero().view(-1).cpu()
    if len(train) == 0:
        return graph
    k = max(1, round(float(data_fraction) * len(train)))
    order = stratified_order(d.y[train].cpu().numpy(),
                             np.random.default_rng([_STREAM_FRACTION, int(seed)]))
    keep = train[torch.from_numpy(order[:k])]
    mask = torch.zeros_like(d.train_mask)
    mask[keep.to(mask.device)] = True
    new = d.__class__(**d.to_dict())  # shallow: the same tensors, a new mask
    new.train_mask = mask
    info = dict(graph.info, data_fraction=float(data_fraction), n_train_full=len(train))
    return replace(graph, data=new, info=info)

"""Real training: local data sets (images, graphs), tasks and the training routine.

* :func:`load_images` / :class:`ImageData` / :class:`TensorLoader` (``data.py``): image data
  sets from local files, seeded splits, in-memory batches; ``augment.py``: batch augmentation.
* :func:`load_graph` / :class:`GraphData` (``graphs.py``): graphs for node classification.
* :class:`ImageTask`, :class:`GraphTask` (``tasks.py``): what the loop trains on.
* :func:`train`, :class:`TrainConfig` (``trainer.py``): the one training loop.

The evaluator that uses them is :class:`naspredict.evaluators.training.TrainingEvaluator`.
"""
from importlib import import_module

# names -> defining module; imported on first use, so `naspredict --help` does not load torch
_EXPORTS = {"ImageData": "data", "TensorLoader": "data", "load_images": "data",
            "GraphData": "graphs", "load_graph": "graphs",
            "GraphTask": "tasks", "ImageTask": "tasks", "make_task": "tasks",
            "CURVES": "trainer", "TrainConfig": "trainer", "TrainingFailed": "trainer",
            "TrainRun": "trainer", "train": "trainer"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

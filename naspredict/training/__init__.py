"""Real training: local data sets (images, graphs), tasks and the training routine.

* :func:`load_images` / :class:`ImageData` / :class:`TensorLoader` (``data.py``): image data
  sets from local files, seeded splits, in-memory batches; ``augment.py``: batch augmentation.
* :func:`load_graph` / :class:`GraphData` (``graphs.py``): graphs for node classification.
* :class:`ImageTask`, :class:`GraphTask` (``tasks.py``): what the loop trains on.
* :func:`train`, :class:`TrainConfig` (``trainer.py``): the one training loop.

The evaluator that uses them is :class:`naspredict.evaluators.training.TrainingEvaluator`.
"""
from .data import ImageData, TensorLoader, load_images
from .tasks import GraphTask, ImageTask, make_task
from .trainer import CURVES, TrainConfig, TrainingFailed, TrainRun, train

__all__ = ["ImageData", "TensorLoader", "load_images", "GraphTask", "ImageTask", "make_task",
           "CURVES", "TrainConfig", "TrainingFailed", "TrainRun", "train"]

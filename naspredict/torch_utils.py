"""Small torch helpers shared by predictors and strategies."""
from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def limited_threads(n: int | None):
    """Run torch with at most ``n`` intra-op threads inside the block (``None``: unchanged);
    the previous setting is restored."""
    import torch
    prev = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


def one_thread():
    """Run torch with one intra-op thread inside the block; the previous setting is restored.

    naspredict's networks are small: extra threads bring no speed-up, and on a busy machine
    they make every step many times slower (measured here: 10-20x on 2 shared cores).
    """
    return limited_threads(1)

"""No overhead: TrainingEvaluator's images per second against a plain hand-written PyTorch loop.

    python benchmarks/training.py overhead [--repeats 3] [--epochs 3] [small-fidelity options]

Same model (the NB201 cell below, at the small fidelity of train_curves.py), same data
(Fashion-MNIST subset, same split and resolution), same batch size, optimiser, per-step
cosine learning rate, augmentation (the data set's flip + crop) and per-epoch validation pass,
same process.  The plain loop is what a user writes by hand: a permutation per epoch, slicing,
forward, cross-entropy, backward, step; then a test pass.  The evaluator is timed from
``evaluate()`` to its return (``profile=False``: params/FLOPs/latency are a separate cost), the
loop from its first to its last line.  After one uncounted warm-up round, runs alternate
(evaluator first in even rounds, the loop first in odd ones); the medians are compared.  Goal: ratio >= 0.95.  Writes results/training_overhead.md.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from train_curves import make_evaluator, small_fidelity_args  # noqa: E402

CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"
OUT = ROOT / "benchmarks" / "results" / "training_overhead.md"


def plain_loop(model, data, epochs: int, batch_size: int, lr: float, seed: int) -> float:
    """A hand-written loop doing the evaluator's work; returns its wall seconds."""
    import torch
    import torch.nn.functional as F
    t0 = time.perf_counter()
    x, y = data.train
    aug = data.default_augment()
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    n = len(y)
    steps = math.ceil(n / batch_size)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=g)
        for i in range(steps):
            for group in opt.param_groups:
                group["lr"] = 0.5 * lr * (1 + math.cos(math.pi * (epoch + i / steps) / epochs))
            idx = perm[i * batch_size:(i + 1) * batch_size]
            xb, yb = aug(x[idx], g), y[idx]
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            xv, yv = data.val
            for i in range(0, len(yv), 1024):
                F.cross_entropy(model(xv[i:i + 1024]), yv[i:i + 1024])
    with torch.no_grad():
        xt, yt = data.test
        for i in range(0, len(yt), 1024):
            model(xt[i:i + 1024]).argmax(1)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    small_fidelity_args(p)
    p.add_argument("--repeats", type=int, default=6)
    p.add_argument("--train-epochs", type=int, default=3, help="epochs per timed run (default 3)")
    args = p.parse_args(argv)
    from naspredict.torch_utils import set_threads
    set_threads(1)
    from naspredict.trials import Fidelity

    ev = make_evaluator(args, profile=False)
    data = ev.load_data(args.data_fraction, args.resolution)
    arch = ev.space.from_str(CELL)
    n_images = args.train_epochs * len(data.train[1])
    ours, plain = [], []

    def time_ours() -> float:
        t0 = time.perf_counter()
        res = ev.evaluate(arch, Fidelity(epochs=args.train_epochs))
        assert res.ok, res.error
        return time.perf_counter() - t0

    def time_plain(r: int) -> float:
        return plain_loop(ev.build(arch, data=data), data, args.train_epochs, args.batch_size, 0.1, seed=r)

    time_ours(), time_plain(-1)  # warm-up round (first allocations, caches), not counted
    for r in range(args.repeats):
        if r % 2:  # alternate which goes first, so a drift in machine load hits both alike
            plain.append(time_plain(r))
            ours.append(time_ours())
        else:
            ours.append(time_ours())
            plain.append(time_plain(r))
        print(f"repeat {r}: evaluator {ours[-1]:.2f} s, plain loop {plain[-1]:.2f} s", flush=True)
    ips_ours = n_images / statistics.median(ours)
    ips_plain = n_images / statistics.median(plain)
    ratio = ips_ours / ips_plain
    lines = [
        "# Training overhead: TrainingEvaluator vs a plain PyTorch loop",
        "",
        f"`python benchmarks/training.py overhead` (NB201 cell `{CELL}`, C={args.channels}, N={args.cells}, "
        f"Fashion-MNIST {len(data.train[1])} training images at {args.resolution}x{args.resolution}, batch "
        f"{args.batch_size}, {args.train_epochs} epochs per run with a validation pass per epoch and a test "
        f"pass at the end; CPU, 1 thread; a warm-up round, then {args.repeats} alternating repeats, medians).",
        "",
        "| loop | median wall s | training images / s |",
        "|---|---:|---:|",
        f"| TrainingEvaluator.evaluate | {statistics.median(ours):.2f} | {ips_ours:,.0f} |",
        f"| plain hand-written loop | {statistics.median(plain):.2f} | {ips_plain:,.0f} |",
        "",
        f"Ratio (evaluator / plain): **{ratio:.3f}** (goal >= 0.95: {'met' if ratio >= 0.95 else 'MISSED'}).",
        "",
        "Every run: " + ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(ours, plain)) + " s (evaluator/plain).",
    ]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

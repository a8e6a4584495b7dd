"""Search-step time of GDAS against DARTS (first and second order) on the same supernet.

    python benchmarks/gradient_steps.py [--space nb201] [--channels 16] [--cells 5]
        [--resolution 32] [--steps 10] [--device cpu] [--threads 1]

Each method runs ``naspredict.oneshot.gradient_search`` for one epoch of ``--steps`` steps
(batch 64 per half, real Fashion-MNIST resized to ``--resolution``; a validation split of
120 images, so the per-epoch evaluation is a small part of the epoch) and reports the epoch's
wall time per step: one step is an architecture update and a weight update.  Prints a
markdown table with the GDAS/DARTS ratios; wall-clock, so run it on an otherwise idle
machine.  The ratio recorded in ``naspredict/oneshot/gradient.py`` came from this script.
"""
from __future__ import annotations

import argparse
import platform
import time


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="nb201", choices=("nb201", "darts"))
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--cells", type=int, default=None, help="default: 5 (nb201), 8 (darts)")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--methods", default="gdas,darts,darts2")
    args = p.parse_args(argv)

    from naspredict.torch_utils import set_threads
    set_threads(args.threads, import_torch=True)
    from naspredict.oneshot.gradient import gradient_search
    from naspredict.training.data import load_images

    n_train = 2 * 64 * args.steps  # two halves of `steps` batches
    data = load_images("fashion-mnist", seed=0, val_fraction=0.002,
                       data_fraction=min(1.0, n_train / (60_000 - 120)), resolution=args.resolution)
    rows = []
    for m in args.methods.split(","):
        method, order = ("darts", 2) if m == "darts2" else (m, 1)
        t0 = time.perf_counter()
        res = gradient_search(args.space, data, method=method, order=order, epochs=1,
                              channels=args.channels, cells=args.cells, batch_size=64,
                              seed=0, device=args.device)
        steps = -(-res.data["n_weight_half"] // 64)
        per_step = float(res.curves["seconds"].iloc[0]) / steps
        rows.append((m, steps, per_step, time.perf_counter() - t0))
    base = {m: s for m, _, s, _ in rows}
    print(f"{args.space} supernet C={args.channels} cells={res.supernet_kwargs['cells']} at "
          f"{args.resolution}x{args.resolution}, batch 64, {args.device} ({platform.processor() or platform.machine()}), "
          f"{args.threads} thread(s)\n")
    print("| method | steps | seconds / step | vs DARTS (1st order) |")
    print("|---|---:|---:|---:|")
    for m, steps, s, _ in rows:
        ratio = f"{s / base['darts']:.2f}" if "darts" in base else "-"
        print(f"| {m} | {steps} | {s:.3f} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

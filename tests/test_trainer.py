"""The training routine on real data (scikit-learn's digits): seeds, schedule, continuation,
failures, reports.  Small models so each test takes a second or two on one CPU thread."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from naspredict.training.data import load_images
from naspredict.training.tasks import ImageTask
from naspredict.training.trainer import CURVES, TrainConfig, TrainingFailed, lr_at, train


@pytest.fixture(scope="module")
def digits():
    return load_images("digits", seed=0)


def small_net(seed: int = 0) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Dropout(0.1), nn.Linear(32, 10))


def weights(model: nn.Module) -> list[torch.Tensor]:
    return [t.detach().clone() for t in model.state_dict().values()]


CFG = TrainConfig(epochs=4, batch_size=64)


def test_learns_digits_and_curves_have_every_epoch(digits):
    run = train(small_net(), ImageTask(digits, batch_size=64), CFG, seed=0)
    assert set(run.curves) == set(CURVES)
    assert all(len(v) == 4 for v in run.curves.values())
    assert run.curves["val"][-1] > 50, run.curves  # chance is 10 %
    assert run.curves["train_loss"][-1] < run.curves["train_loss"][0]
    assert run.epochs == 4 and not run.pruned


def test_same_seed_same_curve_other_seed_other_curve_caller_rng_untouched(digits):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = train(small_net(), ImageTask(digits, batch_size=64), CFG, epochs=2, seed=5)
    assert torch.equal(torch.get_rng_state(), before), "train() changed the caller's global RNG"
    b = train(small_net(), ImageTask(digits, batch_size=64), CFG, epochs=2, seed=5)
    c = train(small_net(), ImageTask(digits, batch_size=64), CFG, epochs=2, seed=6)
    assert a.curves == b.curves
    assert a.curves != c.curves


def test_continuing_from_a_checkpoint_equals_training_straight_through(digits):
    straight_model = small_net()
    straight = train(straight_model, ImageTask(digits, batch_size=64), CFG, epochs=4, seed=1)
    first = train(small_net(), ImageTask(digits, batch_size=64), CFG, epochs=2, seed=1)
    assert first.curves["val"] == straight.curves["val"][:2]  # a shorter trial is a prefix
    resumed_model = small_net(seed=99)  # different init: every weight must come from the state
    resumed = train(resumed_model, ImageTask(digits, batch_size=64), CFG, epochs=4, seed=1, resume=first.state)
    assert resumed.curves == straight.curves
    for a, b in zip(weights(resumed_model), weights(straight_model)):
        assert torch.allclose(a, b, atol=1e-6), "continued weights differ from straight-through ones"


def test_cosine_reaches_zero_at_the_horizon_and_trial_anneal_is_a_warm_restart(digits):
    assert lr_at(CFG, 0, 4) == pytest.approx(0.1)
    assert lr_at(CFG, 2, 4) == pytest.approx(0.05)
    assert lr_at(CFG, 4, 4) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="anneal='trial'"):
        train(small_net(), ImageTask(digits, batch_size=64), CFG, epochs=5)
    cfg = CFG.replace(anneal="trial")
    first = train(small_net(), ImageTask(digits, batch_size=64), cfg, epochs=2, seed=1)
    straight = train(small_net(), ImageTask(digits, batch_size=64), cfg, epochs=4, seed=1)
    warm = train(small_net(), ImageTask(digits, batch_size=64), cfg, epochs=4, seed=1, resume=first.state)
    assert warm.curves["val"][:2] == first.curves["val"]
    assert warm.curves != straight.curves  # not the same as training 4 epochs from scratch


def test_nan_loss_fails_with_the_epoch_and_keeps_the_curves_so_far(digits):
    class Poisoned(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = small_net()
            self.calls = 0

        def forward(self, x):
            self.calls += 1 if self.training else 0
            out = self.net(x)
            return out * math.nan if self.training and self.calls > 30 else out

    with pytest.raises(TrainingFailed, match="non-finite at epoch 2") as err:
        train(Poisoned(), ImageTask(digits, batch_size=64), CFG, seed=0)
    assert len(err.value.curves["val"]) == 1


def test_divergence_is_a_failure(digits):
    with pytest.raises(TrainingFailed, match="diverged"):
        train(small_net(), ImageTask(digits, batch_size=64), CFG.replace(lr=1e4, max_loss=50.0), seed=0)


def test_report_stops_the_run_and_replays_saved_epochs(digits):
    seen = []

    def report(epoch, row):
        seen.append((epoch, sorted(row)))
        return epoch == 2

    run = train(small_net(), ImageTask(digits, batch_size=64), CFG, seed=0, report=report)
    assert run.pruned and run.epochs == 2 and len(run.curves["val"]) == 2
    assert seen == [(1, sorted(CURVES)), (2, sorted(CURVES))]
    steps = []
    train(small_net(), ImageTask(digits, batch_size=64), CFG, epochs=3, seed=0, resume=run.state,
          report=lambda e, row: steps.append(e) or False)
    assert steps == [1, 2, 3]  # the pruner sees the saved epochs first, in order


def test_bad_config_names_the_field():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(TypeError, match="unknown TrainConfig field"):
        CFG.replace(epoch=3)

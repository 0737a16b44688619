"""byhand.search.pair: one configuration trained both ways, compared.

The comparison must be able to fail: manual trainers that differ from
SGD in their losses, in their final parameters, or only in the middle of
training are each caught.
"""

import math

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from byhand import MyMLP
from byhand.search.evaluation import dead_relu_fraction
from byhand.search.pair import (
    RUN_COLUMNS,
    bitwise_diff,
    majority_row,
    train_pair,
)
from byhand.training import train, train_manual_update

pytestmark = [pytest.mark.task5, pytest.mark.task6, pytest.mark.task7]


@pytest.fixture
def loaders():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(48, 3, 4, 4, generator=g)
    y = (X.mean(dim=(1, 2, 3)) > 0).long()
    ds = TensorDataset(X, y)
    return {
        "train": DataLoader(ds, batch_size=16, shuffle=False),
        "val": DataLoader(ds, batch_size=16, shuffle=False),
    }


def make():
    return MyMLP(n_in=48, hidden=(8,), n_out=2)


def pair(loaders, **kw):
    settings = {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}
    return train_pair(make, loaders, n_epochs=3, seed=7, **{**settings, **kw})


def test_the_real_trainers_are_identical(loaders):
    p = pair(loaders)
    assert p.identical and p.max_abs_diff == 0.0
    assert p.sgd.losses == p.manual.losses
    assert list(p.epochs["epoch"]) == [1, 2, 3]
    assert set(p.row()) == set(RUN_COLUMNS)


def _nudged_update(*args, **kw):
    """The manual update, with one weight moved by 1 ulp at the end."""
    history = train_manual_update(*args, **kw)
    model = args[2]
    with torch.no_grad():
        w = next(model.parameters())
        w[0, 0] = torch.nextafter(w[0, 0], torch.tensor(math.inf))
    return history


def test_a_final_difference_is_caught(loaders):
    p = pair(loaders, manual_trainer=_nudged_update)
    assert not p.identical
    assert 0 < p.max_abs_diff < 1e-10


def _differs_in_the_middle(*args, on_epoch=None, **kw):
    """Same losses and final parameters, one epoch's parameters moved."""

    def spy(epoch, model, loss):
        w = next(model.parameters())
        old = w.detach().clone()
        if epoch == 2:
            with torch.no_grad():
                w.add_(1e-3)
        on_epoch(epoch, model, loss)
        with torch.no_grad():
            w.copy_(old)

    return train_manual_update(*args, on_epoch=spy, **kw)


def test_a_difference_after_one_epoch_only_is_caught(loaders):
    p = pair(loaders, manual_trainer=_differs_in_the_middle)
    assert p.sgd.losses == p.manual.losses  # the losses cannot tell
    assert not p.identical
    assert p.max_abs_diff == pytest.approx(1e-3)


def _sgd_as_manual(n_epochs, lr, model, loss_fn, loader, wd, mom, **kw):
    """A 'manual' trainer that is SGD without weight decay."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=mom)
    return train(n_epochs, optimizer, model, loss_fn, loader, **kw)


def test_a_different_update_rule_is_caught(loaders):
    p = pair(loaders, manual_trainer=_sgd_as_manual)
    assert not p.identical
    assert p.sgd.losses != p.manual.losses


def test_validation_is_recorded_per_epoch(loaders):
    p = pair(loaders)
    assert p.final["val_acc"] == p.epochs["val_acc"].iloc[-1]
    assert p.row()["val_acc"] == p.final["val_acc"]
    assert p.row()["train_acc"] == p.final["train_acc"]
    assert 0 <= p.final["dead_relu"] <= 1


def test_dead_relus_are_counted_on_the_validation_split(loaders):
    # One constant validation image: every unit it leaves at 0 is dead
    # there, far more than on the varied training images.
    val = TensorDataset(torch.zeros(4, 3, 4, 4), torch.zeros(4).long())
    loaders = {**loaders, "val": DataLoader(val, batch_size=2)}
    p = pair(loaders)
    model = make()
    model.load_state_dict(p.state_dict)
    on_val = dead_relu_fraction(model, loaders["val"])
    assert on_val != dead_relu_fraction(model, loaders["train"])
    assert p.final["dead_relu"] == on_val


def test_a_diverging_pair_is_marked(loaders):
    p = pair(loaders, lr=1e200)
    assert p.sgd.diverged and p.manual.diverged
    assert p.identical  # both stopped at the same batch
    assert math.isnan(p.row()["val_acc"])


def test_majority_row():
    row = majority_row(torch.tensor([1, 1, 0]), torch.tensor([0, 1, 0, 0]))
    assert set(row) == set(RUN_COLUMNS)
    assert row["train_acc"] == pytest.approx(2 / 3)
    assert row["val_acc"] == 0.25


def test_bitwise_diff():
    a = torch.tensor([1.0, float("nan"), float("inf")])
    assert bitwise_diff(a, a.clone()) == 0.0
    assert bitwise_diff(a, torch.tensor([1.0, 2.0, float("inf")])) == (
        math.inf
    )
    b = torch.tensor([1.0, float("nan"), float("inf")])
    b[0] = 1.0 + 2**-52
    assert bitwise_diff(a, b) == 2**-52
    assert bitwise_diff(a, a[:2]) == math.inf

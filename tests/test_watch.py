"""byhand.watch: what the training loop reports to, outside the loop.

The history (mean loss per epoch), the course's log lines, and the
divergence checks that stop a run early, seen through `train_manual_update`.
"""

import io
import math

import pytest
import torch
from logparse import parse_log
from test_training import small_loader, small_net
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from byhand.search.evaluation import evaluate
from byhand.search.logformat import logged_epochs
from byhand.training import train_manual_update
from byhand.watch import EXPLODE_FACTOR, DivergenceWarning

pytestmark = pytest.mark.task3


def test_history_is_mean_batch_loss():
    torch.manual_seed(0)
    model = small_net()
    loader = small_loader()
    loss_fn = nn.CrossEntropyLoss()
    hist = train_manual_update(1, 0.0, model, loss_fn, loader, progress=False)
    with torch.no_grad():
        losses = [loss_fn(model(X), y).item() for X, y in loader]
    assert hist.losses == [sum(losses) / len(losses)]


def test_divergence_is_reported_not_raised():
    torch.manual_seed(0)
    model = small_net()
    loader = small_loader()
    batch = r"diverged at epoch \d+, batch \d+: the loss is (nan|inf)"
    with pytest.warns(DivergenceWarning, match=batch):
        hist = train_manual_update(
            5, 1e200, model, nn.CrossEntropyLoss(), loader, progress=False
        )
    assert hist.diverged and len(hist.losses) < 5
    # A later run in the same process is not poisoned.
    torch.manual_seed(0)
    ok = train_manual_update(
        2, 0.05, small_net(), nn.CrossEntropyLoss(), loader, progress=False
    )
    assert not ok.diverged and len(ok.losses) == 2


def test_log_lines_in_course_format():
    torch.manual_seed(0)
    buf = io.StringIO()
    train_manual_update(
        6,
        0.05,
        small_net(),
        nn.CrossEntropyLoss(),
        small_loader(),
        log=buf,
        progress=False,
    )
    lines = buf.getvalue().splitlines()
    assert len(lines) == len(logged_epochs(6)) == 3
    assert " |  Epoch 5  |  Training loss 0." in lines[1]
    parsed = parse_log(
        "=" * 48
        + "\nlr =  0.05\n --------- Using manual update ----------\n"
        + buf.getvalue()
    )
    assert list(parsed[0]["manual"]["losses"]) == [1, 5, 6]


def exploding_loader():
    # A regression whose squared error grows without bound at lr 0.5:
    # the loss stays finite for a while but far above where it started.
    X = torch.linspace(-3, 3, 32)[:, None] * 10
    return DataLoader(TensorDataset(X, 2 * X), batch_size=32)


def test_an_exploding_loss_is_divergence():
    torch.manual_seed(0)
    model = nn.Linear(1, 1)
    with pytest.warns(DivergenceWarning, match="over 100 times"):
        hist = train_manual_update(
            50, 0.05, model, nn.MSELoss(), exploding_loader(), progress=False
        )
    assert hist.diverged and len(hist.losses) < 50
    assert all(math.isfinite(v) for v in hist.losses)
    # One batch per epoch: the first epoch's loss is the first batch's.
    # The run stops at the first epoch past the factor, not later.
    assert hist.losses[-1] > EXPLODE_FACTOR * hist.losses[0]
    assert hist.losses[-2] <= EXPLODE_FACTOR * hist.losses[0]
    # The same problem at a small learning rate trains to the end.
    torch.manual_seed(0)
    ok = train_manual_update(
        5, 1e-4, nn.Linear(1, 1), nn.MSELoss(), exploding_loader(),
        progress=False,
    )  # fmt: skip
    assert not ok.diverged and len(ok.losses) == 5


def test_running_accuracy_is_the_share_right_during_the_epoch():
    # At lr 0 the model never moves, so the share it got right while the
    # batches went by is its accuracy on the whole training split.
    torch.manual_seed(0)
    model, loader = small_net(), small_loader()
    hist = train_manual_update(
        2, 0.0, model, nn.CrossEntropyLoss(), loader, progress=False
    )
    want = evaluate(model, loader)["accuracy"]
    assert 0 < want < 1
    assert hist.accuracies == pytest.approx([want, want], rel=1e-15)


def test_an_infinite_loss_stops_training_at_its_batch():
    # Not only NaN: an infinite loss stops the run before its step (an
    # epoch of one infinite batch would not exceed 100 times itself).
    X, y = torch.ones(2, 1), torch.tensor([[math.inf], [0.0]])
    loader = DataLoader(TensorDataset(X, y), batch_size=1)
    with pytest.warns(DivergenceWarning, match="batch 1: the loss is inf"):
        hist = train_manual_update(
            3, 0.1, nn.Linear(1, 1), nn.MSELoss(), loader, progress=False
        )
    assert hist.diverged and hist.losses == []


def test_running_accuracy_counts_samples_and_restarts_each_epoch():
    # Batches of 3 and 1: 3 of 4 right is 0.75, not the mean of the
    # batches' shares (1 and 0).  The model is flipped after epoch 1, so
    # epoch 2 counts its own 1 of 4, not 4 of the 8 seen since the start.
    X = torch.tensor([[1.0], [2.0], [3.0], [-1.0]])
    loader = DataLoader(TensorDataset(X, torch.ones(4).long()), batch_size=3)
    model = nn.Linear(1, 2)  # class 1 where x > 0
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[-1.0], [1.0]]))
        model.bias.zero_()

    def flip(epoch, model, loss):
        with torch.no_grad():
            model.weight.neg_()

    hist = train_manual_update(
        2, 0.0, model, nn.CrossEntropyLoss(), loader, progress=False,
        on_epoch=flip,
    )  # fmt: skip
    assert hist.accuracies == [0.75, 0.25]


def test_no_accuracy_for_a_regression():
    torch.manual_seed(0)
    hist = train_manual_update(
        2, 1e-4, nn.Linear(1, 1), nn.MSELoss(), exploding_loader(),
        progress=False,
    )  # fmt: skip
    assert len(hist.accuracies) == 2
    assert all(math.isnan(a) for a in hist.accuracies)


def test_an_empty_loader_is_a_clear_error():
    empty = DataLoader(
        TensorDataset(torch.zeros(0, 6), torch.zeros(0, dtype=torch.long))
    )
    with pytest.raises(ValueError, match="no batches"):
        train_manual_update(
            1, 0.1, small_net(), nn.CrossEntropyLoss(), empty, progress=False
        )

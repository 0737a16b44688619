"""train_manual_update is *identical* to train with torch.optim.SGD."""

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from byhand import MyMLP
from byhand.search.evaluation import dead_relu_fraction, evaluate
from byhand.training import ManualSGD, train, train_manual_update

SEED = 265


def small_loader(n=50, shape=(6,), batch_size=16, device="cpu"):
    # 50 samples in batches of 16: the last batch (2) is smaller.
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, *shape, generator=g)
    y = torch.randint(0, 2, (n,), generator=g)
    return DataLoader(
        TensorDataset(X, y), batch_size=batch_size, shuffle=False
    )


def small_net():
    return nn.Sequential(
        nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2)
    )


def snapshots(model_fn, runner, n_epochs, device="cpu"):
    """Parameters after every epoch and the loss history of one run."""
    torch.manual_seed(SEED)
    model = model_fn().to(device)
    states = []

    def on_epoch(epoch, model, loss):
        states.append([p.detach().clone() for p in model.parameters()])

    history = runner(model, on_epoch)
    return states, history


def both_runs(model_fn, loader, n_epochs, lr, device="cpu", **hyper):
    loss_fn = nn.CrossEntropyLoss()

    def with_sgd(model, on_epoch):
        opt = torch.optim.SGD(model.parameters(), lr=lr, **hyper)
        return train(
            n_epochs,
            opt,
            model,
            loss_fn,
            loader,
            on_epoch=on_epoch,
            progress=False,
        )

    def by_hand(model, on_epoch):
        wd = hyper.get("weight_decay", 0.0)
        mom = hyper.get("momentum", 0.0)
        rest = {
            k: v for k, v in hyper.items() if k in ("dampening", "nesterov")
        }
        return train_manual_update(
            n_epochs,
            lr,
            model,
            loss_fn,
            loader,
            wd,
            mom,
            on_epoch=on_epoch,
            progress=False,
            **rest,
        )

    return (
        snapshots(model_fn, with_sgd, n_epochs, device),
        snapshots(model_fn, by_hand, n_epochs, device),
    )


def assert_identical(run_a, run_b):
    (states_a, hist_a), (states_b, hist_b) = run_a, run_b
    assert hist_a.losses == hist_b.losses
    assert len(states_a) == len(states_b) > 0
    for epoch, (pa, pb) in enumerate(zip(states_a, states_b, strict=True)):
        for a, b in zip(pa, pb, strict=True):
            assert torch.equal(a, b), f"parameters differ after epoch {epoch}"


HYPER = {
    "plain": {},
    "weight_decay": {"weight_decay": 0.01},
    "momentum": {"momentum": 0.9},
    "both": {"momentum": 0.8, "weight_decay": 0.01},
    "dampening": {"momentum": 0.9, "dampening": 0.3, "weight_decay": 0.001},
    "nesterov": {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
}


# Which task each case proves (5: plain, 6: weight decay, 7: momentum).
TASKS = {
    "plain": ("task4", "task5"),
    "weight_decay": ("task6",),
    "momentum": ("task7",),
    "both": ("task6", "task7"),
    "dampening": ("task7",),
    "nesterov": ("task7",),
}


def _cases(names):
    return [
        pytest.param(n, marks=[getattr(pytest.mark, t) for t in TASKS[n]])
        for n in names
    ]


@pytest.mark.parametrize("name", _cases(HYPER))
def test_manual_update_identical_to_sgd(name):
    runs = both_runs(
        small_net, small_loader(), n_epochs=4, lr=0.05, **HYPER[name]
    )
    assert_identical(*runs)


@pytest.mark.parametrize("name", _cases(["plain", "both", "nesterov"]))
def test_manual_update_identical_on_mymlp(name):
    # 40 images of the real shape 3x16x16, batch 16: last batch of 8.
    loader = small_loader(n=40, shape=(3, 16, 16), batch_size=16)
    runs = both_runs(MyMLP, loader, n_epochs=3, lr=0.01, **HYPER[name])
    assert_identical(*runs)


@pytest.mark.task4
def test_the_equality_check_can_fail():
    loader = small_loader()
    sgd_run, _ = both_runs(small_net, loader, 3, 0.05, momentum=0.9)
    _, manual_run = both_runs(small_net, loader, 3, 0.05, momentum=0.89)
    with pytest.raises(AssertionError):
        assert_identical(sgd_run, manual_run)


class AliasingSGD(ManualSGD):
    """The known trap: a first momentum buffer that *is* p.grad."""

    def step(self):
        with torch.no_grad():
            for i, p in enumerate(self.params):
                if self.buffers[i] is None:
                    self.buffers[i] = p.grad  # no copy: wiped by zero_grad
                else:
                    self.buffers[i].mul_(self.momentum).add_(p.grad)
                p.data.add_(self.buffers[i], alpha=-self.lr)


@pytest.mark.task7
def test_aliased_momentum_buffer_would_be_caught(monkeypatch):
    loader = small_loader()
    sgd_run, manual_run = both_runs(small_net, loader, 3, 0.05, momentum=0.9)
    assert_identical(sgd_run, manual_run)
    monkeypatch.setattr("byhand.training.ManualSGD", AliasingSGD)
    _, aliased_run = both_runs(small_net, loader, 3, 0.05, momentum=0.9)
    with pytest.raises(AssertionError):
        assert_identical(sgd_run, aliased_run)


@pytest.mark.task4
def test_gradients_are_zeroed_after_each_step():
    torch.manual_seed(0)
    model = small_net()
    train_manual_update(
        1, 0.1, model, nn.CrossEntropyLoss(), small_loader(), progress=False
    )
    assert all(torch.count_nonzero(p.grad) == 0 for p in model.parameters())


@pytest.mark.task4
def test_manual_sgd_rejects_bad_hyperparameters():
    with pytest.raises(ValueError, match="Nesterov"):
        ManualSGD(small_net().parameters(), lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=">= 0"):
        ManualSGD(small_net().parameters(), lr=-0.1)
    for bad in ({"lr": math.nan}, {"lr": math.inf},
                {"lr": 0.1, "momentum": math.nan},
                {"lr": 0.1, "weight_decay": math.inf}):  # fmt: skip
        name = next(k for k, v in bad.items() if not math.isfinite(v))
        with pytest.raises(ValueError, match=f"{name} must be finite"):
            ManualSGD(small_net().parameters(), **bad)


@pytest.mark.task3
def test_a_float32_model_trains_under_a_float64_default():
    torch.manual_seed(0)
    model = small_net().float()
    hist = train_manual_update(
        1, 0.1, model, nn.CrossEntropyLoss(), small_loader(), progress=False
    )
    assert len(hist.losses) == 1
    assert all(p.dtype == torch.float32 for p in model.parameters())
    evaluate(model, small_loader())  # no dtype mismatch either


@pytest.mark.task3
def test_an_empty_loader_is_a_clear_error():
    empty = DataLoader(TensorDataset(torch.zeros(0, 6), torch.zeros(0)))
    with pytest.raises(ValueError, match="split is empty"):
        evaluate(small_net(), empty)


def test_dead_relu_fraction():
    model = small_net()
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.copy_(torch.tensor([1.0, -1.0, 1.0, -1.0, -1.0]))
    # Units 2, 4 and 5 never fire: 3 of 5 are dead.
    assert dead_relu_fraction(model, small_loader()) == 3 / 5
    assert math.isnan(dead_relu_fraction(nn.Linear(6, 2), small_loader()))


def test_accuracy_and_evaluate():
    model = nn.Linear(6, 2)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.copy_(torch.tensor([1.0, 0.0]))  # always class 0
    loader = small_loader()
    y = torch.cat([b[1] for b in loader])
    expected = (y == 0).double().mean().item()
    assert evaluate(model, loader)["accuracy"] == pytest.approx(expected)
    # Logits (1, 0) for every sample: cross-entropy log(1 + e) for class 0
    # and log(1 + e) + 1 - ... computed by hand per class.
    lse = math.log(math.e + 1.0)
    want = (y == 0).double() * (lse - 1.0) + (y == 1).double() * lse
    assert evaluate(model, loader)["loss"] == pytest.approx(
        want.mean().item(), rel=1e-12
    )


@pytest.mark.cuda
@pytest.mark.parametrize("name", ["plain", "both", "nesterov"])
def test_manual_update_identical_on_cuda(name):
    loader = small_loader(n=40, shape=(3, 16, 16), batch_size=16)
    runs = both_runs(
        MyMLP, loader, n_epochs=2, lr=0.01, device="cuda", **HYPER[name]
    )
    assert_identical(*runs)


class TextbookSGD(ManualSGD):
    """Eq. (3) written as separate multiply and add: p - lr * (g + wd p)."""

    def step(self):
        with torch.no_grad():
            for p in self.params:
                g = p.grad + self.weight_decay * p.data
                p.data = p.data - self.lr * g


def test_unfused_update_is_close_but_not_identical(monkeypatch):
    # Why ManualSGD uses add(alpha=): the same maths with the product
    # rounded separately drifts from torch.optim.SGD in the last bits.
    loader = small_loader(n=40, shape=(3, 16, 16), batch_size=16)
    sgd_run, _ = both_runs(MyMLP, loader, 3, 0.01, weight_decay=0.01)
    monkeypatch.setattr("byhand.training.ManualSGD", TextbookSGD)
    _, textbook = both_runs(MyMLP, loader, 3, 0.01, weight_decay=0.01)
    with pytest.raises(AssertionError):
        assert_identical(sgd_run, textbook)
    for a, b in zip(sgd_run[0][-1], textbook[0][-1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)

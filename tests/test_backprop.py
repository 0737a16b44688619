"""backpropagation against autograd and finite differences, in float64."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from byhand import MyNet, backpropagation
from byhand.activations import ACTIVATIONS
from byhand.backprop import mse_loss
from byhand.gradcheck import check_gradients

pytestmark = pytest.mark.section2

AUTOGRAD_TOL = 1e-10
FD_TOL = 1e-7


def _autograd_max_error(model, x, y):
    table = check_gradients(model, x, y, methods=("autograd",))
    return table["rel_error"].max()


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    widths=st.lists(st.integers(1, 20), min_size=2, max_size=5),
    act=st.sampled_from(sorted(ACTIVATIONS)),
    m=st.sampled_from([1, 7]),
    seed=st.integers(0, 2**16),
)
def test_matches_autograd_on_random_architectures(widths, act, m, seed):
    torch.manual_seed(seed)
    model = MyNet(widths, activations=act)
    x = torch.randn(m, widths[0])
    y = torch.randn(m, widths[-1])
    assert _autograd_max_error(model, x, y) <= AUTOGRAD_TOL


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "identity", "relu"])
@pytest.mark.parametrize("m", [1, 4])
def test_matches_finite_differences(act, m):
    torch.manual_seed(1)
    model = MyNet([5, 6, 4, 3], activations=act)
    x = torch.randn(m, 5)
    y = torch.randn(m, 3)
    table = check_gradients(model, x, y, methods=("finite_differences",))
    assert table["rel_error"].max() <= FD_TOL


def test_mixed_activations_match_autograd():
    torch.manual_seed(2)
    model = MyNet([6, 8, 5, 2], activations=["relu", "sigmoid", "identity"])
    x, y = torch.randn(3, 6), torch.randn(3, 2)
    assert _autograd_max_error(model, x, y) <= AUTOGRAD_TOL


def test_loss_is_course_loss_at_batch_one():
    y, y_hat = torch.randn(1, 2), torch.randn(1, 2)
    expected = nn.MSELoss(reduction="none")(y_hat, y).sum()
    torch.testing.assert_close(mse_loss(y, y_hat), expected)


def test_shapes_and_no_side_effects():
    torch.manual_seed(0)
    model = MyNet([2, 3, 2])
    x, y = torch.randn(1, 2), torch.randn(1, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    y_pred = model(x)
    backpropagation(model, y, y_pred)
    for l in (1, 2):
        assert model.dL_dw[l].shape == model.fc[str(l)].weight.shape
        assert model.dL_db[l].shape == model.fc[str(l)].bias.shape
        assert not model.dL_dw[l].requires_grad
        assert model.dL_dw[l].grad_fn is None
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    assert all(p.grad is None for p in model.parameters())


def test_existing_grad_is_left_alone():
    torch.manual_seed(0)
    model = MyNet([2, 3, 2])
    for p in model.parameters():
        p.grad = torch.full_like(p, 7.0)
    y_pred = model(torch.randn(1, 2))
    backpropagation(model, torch.randn(1, 2), y_pred)
    assert all(
        torch.equal(p.grad, torch.full_like(p, 7.0))
        for p in model.parameters()
    )


class ForeignNet(nn.Module):
    """Not our class: only the interface backpropagation reads."""

    def __init__(self):
        super().__init__()
        self.L = 2
        self.fc = nn.ModuleDict({"1": nn.Linear(3, 4), "2": nn.Linear(4, 2)})
        self.a, self.z, self.dL_dw, self.dL_db = {}, {}, {}, {}
        self.df = {
            1: lambda z: 1 - torch.tanh(z) ** 2,
            2: lambda z: torch.ones_like(z),
        }

    def forward(self, x):
        self.a[0] = x
        self.z[1] = self.fc["1"](x)
        self.a[1] = torch.tanh(self.z[1])
        self.z[2] = self.fc["2"](self.a[1])
        self.a[2] = self.z[2]
        return self.a[2]


def test_works_on_a_foreign_model_with_the_interface():
    torch.manual_seed(3)
    model = ForeignNet()
    x, y = torch.randn(2, 3), torch.randn(2, 2)
    loss = mse_loss(y, model(x))
    loss.backward()
    backpropagation(model, y, model.a[2])
    for l in (1, 2):
        torch.testing.assert_close(
            model.dL_dw[l],
            model.fc[str(l)].weight.grad,
            rtol=1e-12,
            atol=1e-14,
        )
        torch.testing.assert_close(
            model.dL_db[l], model.fc[str(l)].bias.grad, rtol=1e-12, atol=1e-14
        )


def test_error_when_forward_not_run():
    model = MyNet([2, 3, 2])
    with pytest.raises(RuntimeError, match="run the forward pass"):
        backpropagation(model, torch.zeros(1, 2), torch.zeros(1, 2))


def test_error_when_shapes_differ():
    model = MyNet([2, 3, 2])
    y_pred = model(torch.randn(1, 2))
    with pytest.raises(ValueError, match=r"y_true has shape \(1, 3\)"):
        backpropagation(model, torch.zeros(1, 3), y_pred)


def test_error_when_batch_size_does_not_match_stored_activations():
    model = MyNet([2, 3, 2])
    model(torch.randn(1, 2))
    with pytest.raises(ValueError, match="latest forward pass"):
        backpropagation(model, torch.zeros(4, 2), torch.zeros(4, 2))


# Mutation sanity: the checks must catch a wrong backward pass.


def _backprop_without_factor_two(model, y_true, y_pred):
    backpropagation(model, y_true, y_pred)
    for l in range(1, model.L + 1):
        model.dL_dw[l] = model.dL_dw[l] / 2
        model.dL_db[l] = model.dL_db[l] / 2


def _backprop_ignoring_df(model, y_true, y_pred):
    # Same equations with f' replaced by 1: what forgetting df gives.
    saved = dict(model.df)
    model.df = {l: torch.ones_like for l in saved}
    try:
        backpropagation(model, y_true, y_pred)
    finally:
        model.df = saved


@pytest.mark.parametrize(
    "wrong", [_backprop_without_factor_two, _backprop_ignoring_df]
)
def test_checks_fail_on_a_wrong_backward_pass(wrong):
    torch.manual_seed(4)
    model = MyNet([3, 5, 2])
    x, y = torch.randn(1, 3), torch.randn(1, 2)
    table = check_gradients(model, x, y, backprop=wrong)
    assert (table["rel_error"] > 1e-3).any()
    assert table["rel_error"].max() > FD_TOL

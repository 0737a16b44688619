"""byhand.activations: each derivative against autograd."""

import pytest
import torch

from byhand.activations import ACTIVATIONS, get_activation

pytestmark = pytest.mark.section2


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_each_activation_derivative_matches_autograd(name):
    act = get_activation(name)
    # Avoid 0 exactly, where ReLU has no derivative.
    z = torch.linspace(-4, 4, 50, requires_grad=True) + 1e-3
    (grad,) = torch.autograd.grad(act.f(z).sum(), z)
    torch.testing.assert_close(
        act.df(z.detach()), grad, rtol=1e-12, atol=1e-14
    )


def test_unknown_activation_names_the_choices():
    with pytest.raises(ValueError, match="relu"):
        get_activation("softplus")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_each_derivative_at_zero_is_autograds(name):
    # ReLU's kink: autograd takes 0 there, so must the hand-written df
    # (a ReLU net whose pre-activation is exactly 0 otherwise disagrees).
    act = get_activation(name)
    z = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(act.f(z).sum(), z)
    assert torch.equal(act.df(z.detach()), grad)

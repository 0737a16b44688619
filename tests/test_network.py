import pytest
import torch
from torch import nn

from byhand import MyMLP, MyNet
from byhand.network import linear_baseline


@pytest.mark.section2
def test_mynet_keeps_the_course_interface():
    model = MyNet(n_l=[2, 3, 2])
    assert model.n_l == [2, 3, 2]
    assert model.L == 2
    assert isinstance(model.fc, nn.ModuleDict)
    assert list(model.fc.keys()) == ["1", "2"]
    assert list(model.z) == [1, 2]
    assert list(model.a) == [0, 1, 2]
    assert list(model.dL_dw) == [1, 2] and list(model.dL_db) == [1, 2]
    assert list(model.f) == [1, 2] and list(model.df) == [1, 2]
    for l in (1, 2):
        fc = model.fc[str(l)]
        assert fc.weight.shape == (model.n_l[l], model.n_l[l - 1])
        assert fc.bias.shape == (model.n_l[l],)


@pytest.mark.section2
def test_forward_stores_attached_activations_of_batch_one():
    model = MyNet(n_l=[2, 3, 2])
    x = torch.randn(1, 2)
    y = model(x)
    assert y is model.a[2]
    for l in (1, 2):
        assert model.z[l].shape == (1, model.n_l[l])
        assert model.a[l].shape == (1, model.n_l[l])
        assert model.a[l].requires_grad
    torch.testing.assert_close(model.a[0], x)
    torch.testing.assert_close(model.a[1], torch.tanh(model.z[1]))


@pytest.mark.section2
def test_forward_flattens_images():
    model = MyNet(n_l=[12, 4, 3])
    out = model(torch.randn(5, 3, 2, 2))
    assert out.shape == (5, 3) and model.a[0].shape == (5, 12)


@pytest.mark.section2
def test_default_activation_is_tanh_with_its_true_derivative():
    model = MyNet()
    z = torch.linspace(-3, 3, 11, requires_grad=True)
    (slope,) = torch.autograd.grad(torch.tanh(z).sum(), z)
    for l in (1, 2):
        torch.testing.assert_close(model.f[l](z.detach()), torch.tanh(z))
        # Against autograd, not against a copy of the formula.
        torch.testing.assert_close(
            model.df[l](z.detach()), slope, rtol=1e-12, atol=0
        )


@pytest.mark.section2
def test_per_layer_activations_are_used():
    model = MyNet([3, 4, 2], activations=["relu", "identity"])
    model(torch.randn(2, 3))
    torch.testing.assert_close(model.a[1], torch.relu(model.z[1]))
    torch.testing.assert_close(model.a[2], model.z[2])


@pytest.mark.section2
def test_bad_configuration_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        MyNet([2, 2], activations="gelu")
    with pytest.raises(ValueError, match="one activation per layer"):
        MyNet([2, 3, 2], activations=["tanh"])
    with pytest.raises(ValueError, match="at least 2 positive widths"):
        MyNet([2])


@pytest.mark.task2
def test_mymlp_architecture():
    model = MyMLP()
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (768, 128),
        (128, 32),
        (32, 2),
    ]
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    assert len(relus) == 2
    # No activation after the last layer: logits can be negative.
    assert isinstance(model.layers[-1], nn.Linear)
    out = model(torch.randn(4, 3, 16, 16))
    assert out.shape == (4, 2)


def test_linear_baseline_is_one_layer():
    model = linear_baseline()
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 1 and linears[0].in_features == 768

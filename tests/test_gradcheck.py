import copy

import pytest
import torch

from byhand import MyNet
from byhand.backprop import mse_loss
from byhand.gradcheck import (
    check_gradients,
    relative_error,
    summarize,
    training_gradient_check,
)

pytestmark = pytest.mark.section2

TOL = {"autograd": 1e-10, "finite_differences": 1e-7}


def toy_data():
    # The course's toy problem: 2 inputs, 2 targets, a handful of points.
    X = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.5, -0.5]])
    Y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, -0.3]])
    return X, Y


def test_relative_error():
    a = torch.tensor([1.0, 0.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(torch.zeros(2), torch.zeros(2)) == 0.0
    assert relative_error(a, 2 * a) == pytest.approx(0.5)


def test_relative_error_is_symmetric_and_fails_a_gradient_against_zero():
    # A hand gradient where the true one is zero (a dead unit) is 100 %
    # wrong whichever side is the reference; scaled by the reference
    # alone it would read 0 and pass.
    g = torch.tensor([0.3, -0.4])
    assert relative_error(g, torch.zeros(2)) == 1.0
    assert relative_error(torch.zeros(2), g) == 1.0
    assert relative_error(g, 3 * g) == relative_error(3 * g, g)


def test_toy_protocol_passes_every_step():
    torch.manual_seed(42)
    model = MyNet([2, 3, 2])
    X, Y = toy_data()
    table = training_gradient_check(model, X, Y, n_epochs=3, lr=0.1)
    # 3 epochs x 4 samples, 2 layers x (weight, bias), 2 methods.
    assert table["step"].nunique() == 12
    assert len(table) == 12 * 4 * 2
    verdict = summarize(table, TOL)
    assert verdict["passed"].all(), verdict


def test_toy_protocol_checks_finite_differences_from_the_first_step():
    # Every fd_every-th step, the first (the initial parameters) included:
    # with fd_every beyond the last step that first one is still checked.
    torch.manual_seed(42)
    X, Y = toy_data()
    for fd_every, want in ((3, [0, 3]), (100, [0])):
        table = training_gradient_check(
            MyNet([2, 3, 2]), X, Y, n_epochs=1, fd_every=fd_every
        )
        fd = table[table["method"] == "finite_differences"]
        assert sorted(fd["step"].unique()) == want


def test_toy_protocol_trains_the_model():
    torch.manual_seed(42)
    model = MyNet([2, 3, 2])
    before = model.fc["1"].weight.detach().clone()
    training_gradient_check(model, *toy_data(), n_epochs=1, lr=0.1)
    assert not torch.equal(before, model.fc["1"].weight)


def test_toy_protocol_steps_as_torch_optim_sgd():
    # Its written-out step is torch.optim.SGD's, to the last bit.
    torch.manual_seed(42)
    model = MyNet([2, 3, 2])
    reference = copy.deepcopy(model)
    X, Y = toy_data()
    training_gradient_check(model, X, Y, n_epochs=2, lr=0.1, fd_every=0)
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
    for _ in range(2):
        for s in range(len(X)):
            optimizer.zero_grad()
            mse_loss(Y[s : s + 1], reference(X[s : s + 1])).backward()
            optimizer.step()
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)


def test_check_refuses_float32():
    model = MyNet([2, 3, 2]).float()
    with pytest.raises(TypeError, match="float64"):
        check_gradients(
            model, torch.randn(1, 2).float(), torch.randn(1, 2).float()
        )


def test_summarize_flags_failures():
    torch.manual_seed(0)
    model = MyNet([2, 3, 2])

    def wrong(model, y_true, y_pred):
        from byhand import backpropagation

        backpropagation(model, y_true, y_pred)
        model.dL_db[1] = model.dL_db[1] + 1.0

    table = check_gradients(
        model, torch.randn(1, 2), torch.randn(1, 2), backprop=wrong
    )
    verdict = summarize(table, TOL)
    failed = verdict[~verdict["passed"]]
    assert set(failed["layer"]) == {1} and set(failed["param"]) == {"bias"}


def test_summarize_keeps_the_worst_step_not_the_average():
    # One bad step among good ones fails the layer (a mean would hide it).
    import pandas as pd

    errors = [0.0, 1e-12, 0.0, 3e-10]
    rows = {"layer": 1, "param": "weight", "method": "autograd"}
    table = pd.DataFrame({**rows, "rel_error": errors})
    verdict = summarize(table, TOL)
    assert verdict["max_rel_error"].tolist() == [3e-10]
    assert not verdict["passed"].any()


def test_per_sample_check_covers_every_sample():
    from byhand.gradcheck import check_gradients_per_sample

    torch.manual_seed(5)
    model = MyNet([12, 4, 3])
    X, Y = torch.rand(3, 1, 2, 6), torch.eye(3)
    table = check_gradients_per_sample(model, X, Y)
    assert sorted(table["sample"].unique()) == [0, 1, 2]
    assert summarize(table, TOL)["passed"].all()
    # Its options reach check_gradients.
    quick = check_gradients_per_sample(model, X, Y, methods=("autograd",))
    assert set(quick["method"]) == {"autograd"}


def test_grayscale_crops_are_the_first_training_images(cifar_root):
    import warnings

    from byhand.cifar import load_cifar10
    from byhand.gradcheck import grayscale_crops

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, Y = grayscale_crops(n=3, size=24, root=cifar_root, download=False)
        raw = load_cifar10(cifar_root, download=False)
    assert X.shape == (3, 1, 24, 24) and X.dtype == torch.float64
    assert X.min() >= 0 and X.max() <= 1
    assert torch.equal(Y.argmax(dim=1), raw.train_labels[:3])
    # The same crops as torchvision's transforms give.
    from torchvision.transforms.v2 import functional as tvf

    for size in (24, 21):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            crops, _ = grayscale_crops(n=3, size=size, root=cifar_root,
                                       download=False)  # fmt: skip
        gray = tvf.rgb_to_grayscale(raw.train_images[:3])
        want = tvf.center_crop(gray, [size, size]).to(torch.float64) / 255
        assert torch.equal(crops, want), size
    assert torch.equal(Y.sum(dim=1), torch.ones(3))
    # Centre crop: pixel (0, 0) of a crop is pixel (4, 4) of the image.
    rgb = raw.train_images[0, :, 4, 4].double()
    gray = 0.2989 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    assert abs(X[0, 0, 0, 0].item() * 255 - gray.item()) <= 1

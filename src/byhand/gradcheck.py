"""Gradient checking: is ``backpropagation`` right?  In float64, against
autograd and central differences (L(theta + h) - L(theta - h)) / 2h."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pandas as pd
import torch

from byhand.backprop import backpropagation, mse_loss
from byhand.cifar import TRAIN_FILES, locate, read_batches

Backprop = Callable[[Any, torch.Tensor, torch.Tensor], None]


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / max(||a||, ||b||); 0 when both are zero."""
    a, b = a.detach().double(), b.detach().double()
    scale = max(a.norm().item(), b.norm().item())
    return (a - b).norm().item() / scale if scale else 0.0


def _parameters(model: Any) -> dict[tuple[int, str], torch.Tensor]:
    """Each layer's weight and bias, keyed (layer, "weight" or "bias")."""
    return {
        (l, kind): getattr(model.fc[str(l)], kind)
        for l in range(1, model.L + 1)
        for kind in ("weight", "bias")
    }


def _hand_gradients(
    model: Any, x: torch.Tensor, y: torch.Tensor, backprop: Backprop
) -> dict[tuple[int, str], torch.Tensor]:
    with torch.no_grad():
        y_pred = model(x)
    backprop(model, y, y_pred)
    grads = {"weight": model.dL_dw, "bias": model.dL_db}
    return {
        (l, kind): grads[kind][l].clone() for l, kind in _parameters(model)
    }


def autograd_gradients(
    model: Any, x: torch.Tensor, y: torch.Tensor
) -> dict[tuple[int, str], torch.Tensor]:
    """dL/dtheta by autograd, without touching the model's ``.grad``."""
    params = _parameters(model)
    loss = mse_loss(y, model(x))
    grads = torch.autograd.grad(loss, list(params.values()))
    return dict(zip(params, grads, strict=True))


def finite_difference_gradients(
    model: Any, x: torch.Tensor, y: torch.Tensor, h: float = 1e-5
) -> dict[tuple[int, str], torch.Tensor]:
    """dL/dtheta by central differences, one parameter entry at a time.

    The error is O(h^2) from truncation plus O(eps L / h) from rounding;
    h near eps^(1/3) ~ 1e-5 balances the two in float64 (about 1e-10).
    """
    out = {}
    with torch.no_grad():
        for key, p in _parameters(model).items():
            flat = p.data.view(-1)
            g = torch.empty_like(flat)
            for i in range(flat.numel()):
                old = flat[i].item()
                flat[i] = old + h
                up = mse_loss(y, model(x)).item()
                flat[i] = old - h
                down = mse_loss(y, model(x)).item()
                flat[i] = old
                g[i] = (up - down) / (2 * h)
            out[key] = g.view_as(p)
    return out


def check_gradients(
    model: Any,
    x: torch.Tensor,
    y: torch.Tensor,
    backprop: Backprop = backpropagation,
    methods: tuple[str, ...] = ("autograd", "finite_differences"),
) -> pd.DataFrame:
    """One row per (layer, parameter, method): the relative error of
    ``backprop``'s gradient against the reference ``method`` (float64)."""
    if x.dtype != torch.float64 or any(
        p.dtype != torch.float64 for p in model.parameters()
    ):
        raise TypeError(
            "gradient checks need float64 inputs and parameters: call "
            "torch.set_default_dtype(torch.double) before building the model"
        )
    hand = _hand_gradients(model, x, y, backprop)
    refs = {
        "autograd": autograd_gradients,
        "finite_differences": finite_difference_gradients,
    }
    rows = []
    for method in methods:
        if method not in refs:
            raise ValueError(f"unknown method {method!r}; use {list(refs)}")
        ref = refs[method](model, x, y)
        for (l, kind), g in hand.items():
            want = ref[(l, kind)]
            if g.shape != want.shape:
                raise ValueError(
                    f"layer {l} {kind}: hand gradient has shape "
                    f"{tuple(g.shape)}, {method} gives {tuple(want.shape)}"
                )
            error = relative_error(g, want)
            rows.append({"layer": l, "param": kind, "method": method,
                         "rel_error": error})  # fmt: skip
    return pd.DataFrame(rows)


def check_gradients_per_sample(
    model: Any, X: torch.Tensor, Y: torch.Tensor, **options: Any
) -> pd.DataFrame:
    """`check_gradients` (``options`` are its ``backprop`` and ``methods``)
    on each sample alone, batch size 1 as in the course; the rows carry
    the sample's index."""
    tables = []
    for s in range(len(X)):
        table = check_gradients(model, X[s : s + 1], Y[s : s + 1], **options)
        tables.append(table.assign(sample=s))
    return pd.concat(tables, ignore_index=True)


def training_gradient_check(
    model: Any,
    X: torch.Tensor,
    Y: torch.Tensor,
    n_epochs: int = 3,
    lr: float = 0.1,
    backprop: Backprop = backpropagation,
    fd_every: int = 1,
) -> pd.DataFrame:
    """The course's protocol: SGD at batch size 1, and before every step
    a check against autograd (and finite differences every ``fd_every``
    steps), so it covers many points of the loss surface.  The SGD step
    is written out: ``torch.optim`` would import ``torch._dynamo`` (1.3 s
    in each notebook) for one subtraction."""
    rows = []
    step = 0
    for epoch in range(1, n_epochs + 1):
        for s in range(X.shape[0]):
            x, y = X[s : s + 1], Y[s : s + 1]
            methods: tuple[str, ...] = ("autograd",)
            if fd_every and step % fd_every == 0:
                methods += ("finite_differences",)
            table = check_gradients(model, x, y, backprop, methods)
            rows.append(table.assign(epoch=epoch, step=step))
            model.zero_grad()
            mse_loss(y, model(x)).backward()
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(p.grad, alpha=-lr)  # torch.optim.SGD's step
            step += 1
    return pd.concat(rows, ignore_index=True)


def summarize(table: pd.DataFrame, tol: dict[str, float]) -> pd.DataFrame:
    """Worst relative error per layer, parameter and method, passed when
    within ``tol[method]`` (e.g. 1e-10 for autograd)."""
    worst = (
        table.groupby(["method", "layer", "param"])["rel_error"]
        .max()
        .reset_index()
        .rename(columns={"rel_error": "max_rel_error"})
    )
    worst["tolerance"] = worst["method"].map(tol)
    worst["passed"] = worst["max_rel_error"] <= worst["tolerance"]
    return worst.set_index("method").rename_axis(index=None, columns="method")


def grayscale_crops(
    n: int = 5,
    size: int = 24,
    root: str | os.PathLike | None = None,
    download: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` training images as grayscale centre crops on [0, 1]
    and one-hot targets (n, 10): a stand-in for the course's five 24x24
    MNIST crops, for a ``[576, 16, 10]`` net."""
    images, labels = read_batches(locate(root, download)[0], TRAIN_FILES[:1])
    # torchvision's rgb_to_grayscale and center_crop, operation for
    # operation (a test compares), without importing torchvision (1.7 s).
    r, g, b = images[:n].unbind(dim=-3)
    gray = r.mul(0.2989).add_(g, alpha=0.587).add_(b, alpha=0.114)
    top, left = (round((d - size) / 2) for d in images.shape[-2:])
    crops = gray.to(torch.uint8)[:, None, top : top + size, left : left + size]
    X = crops.to(torch.get_default_dtype()) / 255
    Y = torch.nn.functional.one_hot(labels[:n], 10)
    return X, Y.to(torch.get_default_dtype())

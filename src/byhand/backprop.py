"""The hand-written backward pass of section 2 (equations (4)-(7))."""

from __future__ import annotations

from typing import Any

import torch


def mse_loss(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """L = (1/m) sum_s ||y_s - y_hat_s||^2, the loss backpropagation
    differentiates; at m = 1 it is eq. (1)."""
    m = y_pred.shape[0]
    return ((y_true - y_pred) ** 2).sum() / m


def _check_inputs(
    model: Any, y_true: torch.Tensor, y_pred: torch.Tensor
) -> None:
    L = model.L
    stored = [model.a.get(l) for l in range(L + 1)]
    stored += [model.z.get(l) for l in range(1, L + 1)]
    if any(t is None for t in stored):
        raise RuntimeError(
            "model.a/model.z are empty: run the forward pass "
            "(y_pred = model(x)) before backpropagation"
        )
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true has shape {tuple(y_true.shape)} but y_pred has shape "
            f"{tuple(y_pred.shape)}; they must match (batch, n_outputs)"
        )
    if y_pred.dim() != 2:
        raise ValueError(
            f"y_pred must be 2-D (batch, n_outputs), got shape "
            f"{tuple(y_pred.shape)}"
        )
    if model.a[L].shape != y_pred.shape:
        raise ValueError(
            f"y_pred has shape {tuple(y_pred.shape)} but the last forward "
            f"pass stored a[L] of shape {tuple(model.a[L].shape)}; call "
            "backpropagation with the outputs of the latest forward pass"
        )


def backpropagation(
    model: Any, y_true: torch.Tensor, y_pred: torch.Tensor
) -> None:
    """Fill ``model.dL_dw[l]`` and ``model.dL_db[l]`` for l = 1..L.

    Any model with the course's `MyNet` interface works (``L``, ``a``,
    ``z``, ``df``, ``fc``).  One loop, over the layers; no parameter,
    ``.grad`` or autograd graph is touched.
    """
    _check_inputs(model, y_true, y_pred)
    with torch.no_grad():
        L = model.L
        m = y_pred.shape[0]
        # Eq. (5): delta^[L] = e'(y_hat) * f'^[L](z^[L]) with
        # e' = -2 (y - y_hat); the 1/m averages over the batch (m = 1 in
        # the course).  Rows are samples, columns neurons: (m, n_L).
        delta = -2 * (y_true - y_pred) / m * model.df[L](model.z[L])
        for l in range(L, 0, -1):
            if l < L:
                # Eq. (6): delta_i^[l] = (sum_k delta_k^[l+1] w_ki^[l+1])
                # * f'^[l](z_i^[l]); the sum over k is a matrix product.
                w_next = model.fc[str(l + 1)].weight
                delta = (delta @ w_next) * model.df[l](model.z[l])
            # Eq. (4): dL/dw_ij^[l] = delta_i^[l] a_j^[l-1], summed over the
            # batch: (n_l, m) @ (m, n_{l-1}) has the weight's shape.
            model.dL_dw[l] = delta.T @ model.a[l - 1]
            # Eq. (7): dL/db_j^[l] = delta_j^[l], summed over the batch.
            model.dL_db[l] = delta.sum(dim=0)

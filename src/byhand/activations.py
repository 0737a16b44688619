"""Activation functions paired with their derivatives.

`MyNet` stores an activation ``f[l]`` and its derivative ``df[l]`` per layer;
the hand-written backward pass needs ``df`` for equations (5) and (6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Fn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Activation:
    """An activation ``f`` and its derivative ``df``, both elementwise."""

    name: str
    f: Fn
    df: Fn


def _tanh_df(x: torch.Tensor) -> torch.Tensor:
    # The course's derivative: d/dx tanh(x) = 1 / cosh(x)**2.
    return 1 / (torch.cosh(x) ** 2)


def _relu_df(x: torch.Tensor) -> torch.Tensor:
    # 1 where x > 0, else 0; at x == 0 we take 0, as autograd does.
    return (x > 0).to(x.dtype)


def _sigmoid_df(x: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(x)
    return s * (1 - s)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", torch.tanh, _tanh_df),
    "relu": Activation("relu", torch.relu, _relu_df),
    "sigmoid": Activation("sigmoid", torch.sigmoid, _sigmoid_df),
    "identity": Activation("identity", lambda x: x, torch.ones_like),
}


def get_activation(name: str) -> Activation:
    """Look an activation up by name, with an error listing the choices."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        choices = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(
            f"unknown activation {name!r}; choose one of: {choices}"
        ) from None

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
class Derivative:
    """f'(z), callable as ``df(z)`` like the course's lambdas;
    ``from_output(a)`` gives it from a = f(z), cheaper as autograd does it
    (tanh: 1 - a^2, no cosh), and `backpropagation` prefers it."""

    at_input: Fn
    from_output: Fn

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return self.at_input(z)


@dataclass(frozen=True)
class Activation:
    """An activation ``f`` and its derivative ``df``, both elementwise."""

    f: Fn
    df: Derivative


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
    "tanh": Activation(torch.tanh, Derivative(_tanh_df, lambda a: 1 - a * a)),
    "relu": Activation(torch.relu, Derivative(_relu_df, _relu_df)),
    "sigmoid": Activation(
        torch.sigmoid, Derivative(_sigmoid_df, lambda a: a * (1 - a))
    ),
    "identity": Activation(
        lambda x: x, Derivative(torch.ones_like, torch.ones_like)
    ),
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

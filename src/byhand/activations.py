"""Activation functions paired with their derivatives.

`MyNet` stores an activation ``f[l]`` and its derivative ``df[l]`` per layer;
the hand-written backward pass needs ``df`` for equations (5) and (6).
Each derivative has the form autograd's backward uses (tanh:
1 - tanh(z)^2, equal to the course's 1 / cosh(z)^2); sigmoid's and ReLU's
round alike, tanh's can differ in the last bits (autograd fuses it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Fn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Activation:
    """An activation ``f`` and its derivative ``df``, both elementwise."""

    f: Fn
    df: Fn


def _sigmoid_df(z: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(z)
    return s * (1 - s)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation(torch.tanh, lambda z: 1 - torch.tanh(z) ** 2),
    # 1 where z > 0, else 0; at z == 0 we take 0, as autograd does.
    "relu": Activation(torch.relu, lambda z: (z > 0).to(z.dtype)),
    "sigmoid": Activation(torch.sigmoid, _sigmoid_df),
    "identity": Activation(lambda z: z, torch.ones_like),
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

"""The networks: the course's `MyNet` (section 2) and `MyMLP` (section 3).

`MyNet` keeps the course's interface exactly (attribute names, dict keys,
shapes), so code written against the course's class runs unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from byhand.activations import get_activation

# A tensor per layer l, None until computed.
Stored = dict[int, torch.Tensor | None]


class MyNet(nn.Module):
    """A fully connected net that records every ``z[l]`` and ``a[l]``.

    ``n_l`` lists the layer widths, input first: ``[2, 3, 2]`` is 2 inputs,
    a hidden layer of 3 and 2 outputs, so ``L = 2`` linear layers.
    ``activations`` names one activation per layer, or one for all (the
    course: tanh everywhere, output included).
    """

    def __init__(
        self,
        n_l: Sequence[int] = (2, 3, 2),
        activations: str | Sequence[str] = "tanh",
    ) -> None:
        super().__init__()
        n_l = list(n_l)
        if len(n_l) < 2 or any(int(n) < 1 for n in n_l):
            raise ValueError(
                f"n_l must list at least 2 positive widths, got {n_l}"
            )
        self.n_l = n_l
        # Number of linear layers, in Andrew Ng's notation.
        self.L = len(n_l) - 1
        if isinstance(activations, str):
            activations = [activations] * self.L
        if len(activations) != self.L:
            raise ValueError(
                f"need one activation per layer ({self.L}), "
                f"got {len(activations)}: {list(activations)}"
            )
        layers = range(1, self.L + 1)
        acts = dict(zip(layers, map(get_activation, activations), strict=True))
        # z[l]: before the activation; a[l] = f[l](z[l]); a[0] is the input.
        self.z: Stored = dict.fromkeys(layers)
        self.a: Stored = dict.fromkeys(range(self.L + 1))
        # Filled by `backpropagation`.
        self.dL_dw: Stored = dict.fromkeys(layers)
        self.dL_db: Stored = dict.fromkeys(layers)
        self.f = {l: act.f for l, act in acts.items()}
        self.df = {l: act.df for l, act in acts.items()}
        # nn.ModuleDict needs string keys; it registers the parameters.
        self.fc = nn.ModuleDict(
            {str(l): nn.Linear(n_l[l - 1], n_l[l]) for l in layers}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the layers, storing each ``z[l]`` and ``a[l]`` (graph kept)."""
        self.a[0] = torch.flatten(x, 1)
        for l in range(1, self.L + 1):
            self.z[l] = self.fc[str(l)](self.a[l - 1])
            self.a[l] = self.f[l](self.z[l])
        return self.a[self.L]


class MyMLP(nn.Module):
    """Section 3's classifier: 768 -> 128 -> 32 -> 2, ReLU on hidden layers;
    none on the output (`nn.CrossEntropyLoss` applies the softmax)."""

    def __init__(
        self,
        n_in: int = 16 * 16 * 3,
        hidden: Sequence[int] = (128, 32),
        n_out: int = 2,
    ) -> None:
        super().__init__()
        widths = [n_in, *hidden, n_out]
        layers: list[nn.Module] = [nn.Flatten()]
        for i, (n_a, n_b) in enumerate(itertools.pairwise(widths)):
            layers.append(nn.Linear(n_a, n_b))
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def linear_baseline(n_in: int = 16 * 16 * 3, n_out: int = 2) -> MyMLP:
    """A 768 -> 2 linear classifier, the baseline MyMLP must beat."""
    return MyMLP(n_in=n_in, hidden=(), n_out=n_out)

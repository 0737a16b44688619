"""byhand: backpropagation and gradient descent written by hand.

The names the assignment calls, imported on first use, so that a step
that needs none of them (Quarto's render hooks, ``byhand.render.check``)
does not pay for importing PyTorch.
"""

from __future__ import annotations

import importlib
from typing import Any

# Each public name and the module that defines it.
_HOME = {
    "backpropagation": "byhand.backprop",
    "mse_loss": "byhand.backprop",
    "cat_car_splits": "byhand.data",
    "MyMLP": "byhand.network",
    "MyNet": "byhand.network",
    "run_search": "byhand.search.run",
    "train": "byhand.training",
    "train_manual_update": "byhand.training",
}
__all__ = sorted(_HOME)
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``byhand.MyNet`` and ``from byhand import MyNet``, imported here."""
    if name not in _HOME:
        raise AttributeError(f"module 'byhand' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})

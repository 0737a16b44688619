"""byhand: backpropagation and gradient descent written by hand.

The names a user of the assignment calls; each lives in a small module
of its own (see the README's layout table).
"""

from byhand.backprop import backpropagation, mse_loss
from byhand.data import cat_car_splits
from byhand.network import MyMLP, MyNet
from byhand.search import run_search
from byhand.training import train, train_manual_update

__all__ = [
    "MyMLP",
    "MyNet",
    "backpropagation",
    "cat_car_splits",
    "mse_loss",
    "run_search",
    "train",
    "train_manual_update",
]
__version__ = "0.1.0"

"""byhand: backpropagation and gradient descent written by hand.

The public surface; each name lives in a small module of its own.
"""

from byhand.backprop import backpropagation, mse_loss
from byhand.network import MyMLP, MyNet

__all__ = ["MyMLP", "MyNet", "backpropagation", "mse_loss"]
__version__ = "0.1.0"

"""Figures for the chapters and the report; each returns a Figure.

Every figure has a title, labelled axes and says which split it shows.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from byhand.data import CIFAR10, CatCarSplits


def _show(ax, img: torch.Tensor) -> None:
    ax.imshow(img.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def sample_grid(
    raw: CIFAR10,
    splits: CatCarSplits,
    n_per_class: int = 6,
    split: str = "train",
) -> Figure:
    """The same images at 32x32 (top row of a pair) and 16x16 (below)."""
    y = getattr(splits, split).tensors[1]
    source = raw.test_images if split == "test" else raw.train_images
    n_classes = len(splits.classes)
    fig, axes = plt.subplots(
        2 * n_classes,
        n_per_class,
        figsize=(1.3 * n_per_class, 2.6 * n_classes),
        squeeze=False,
    )
    for c, name in enumerate(splits.classes):
        picks = torch.nonzero(y == c).flatten()[:n_per_class]
        for j in range(n_per_class):
            top, bottom = axes[2 * c, j], axes[2 * c + 1, j]
            if j >= len(picks):
                top.axis("off")
                bottom.axis("off")
                continue
            i = picks[j]
            _show(top, source[splits.index[split][i]])
            _show(bottom, splits.images[split][i])
        axes[2 * c, 0].set_ylabel(f"{name}\n32×32")
        axes[2 * c + 1, 0].set_ylabel(f"{name}\n16×16")
    fig.suptitle(f"Sample {split} images per class, before and after resizing")
    fig.tight_layout()
    return fig

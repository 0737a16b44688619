"""Tables that describe the data (task 1's analysis), as pandas frames."""

from __future__ import annotations

import pandas as pd
import torch

from byhand.cifar import CIFAR10, CIFAR_CLASSES
from byhand.data import CatCarSplits

SPLITS = ("train", "val", "test")


def cifar_class_counts(raw: CIFAR10) -> pd.DataFrame:
    """Images per class in the official training and test sets."""
    counts = {
        "train": torch.bincount(raw.train_labels, minlength=10).tolist(),
        "test": torch.bincount(raw.test_labels, minlength=10).tolist(),
    }
    table = pd.DataFrame(counts, index=pd.Index(CIFAR_CLASSES))
    return table.rename_axis(columns="class")  # one header row


def split_class_counts(splits: CatCarSplits) -> pd.DataFrame:
    """Images per class in each split, with the share of each class."""
    n = len(splits.classes)
    counts = {
        s: torch.bincount(getattr(splits, s).tensors[1], minlength=n).tolist()
        for s in SPLITS
    }
    table = pd.DataFrame(counts, index=pd.Index(splits.classes))
    table.loc["total"] = table.sum()
    shares = 100 * table[list(SPLITS)] / table.loc["total", list(SPLITS)]
    table = table.join(shares.round(1).add_suffix(" %"))
    return table.rename_axis(columns="class")  # one header row


def describe_images(splits: CatCarSplits) -> pd.DataFrame:
    """Shape, dtype, value range and per-channel mean/std (on [0, 1]) of
    each split's 16x16 uint8 images, and of the standardized tensors the
    model sees."""
    rows = []
    for name in SPLITS:
        raw = splits.images[name].to(torch.float64) / 255
        x = getattr(splits, name).tensors[0]
        rows.append(
            {
                "split": name,
                "n": len(x),
                "shape": "x".join(map(str, x.shape[1:])),
                "stored dtype": str(splits.images[name].dtype),
                "model dtype": str(x.dtype),
                "min (uint8)": int(splits.images[name].min()),
                "max (uint8)": int(splits.images[name].max()),
                **{
                    f"{stat} {c}": getattr(raw[:, i], stat)().item()
                    for stat in ("mean", "std")
                    for i, c in enumerate("RGB")
                },
                "model mean": x.mean().item(),
                "model std": x.std().item(),
                "NaN": int(torch.isnan(x).sum()),
            }
        )
    return pd.DataFrame(rows).set_index("split")


def extreme_and_duplicate_images(splits: CatCarSplits) -> pd.DataFrame:
    """Per split: constant (all-black, all-white, flat) images, and exact
    copies within the split and in the others (where they would leak)."""
    flat = {name: splits.images[name].flatten(1) for name in SPLITS}
    pixels = {name: [img.numpy().tobytes() for img in flat[name]]
              for name in SPLITS}  # fmt: skip
    rows = []
    for name in SPLITS:
        lo, hi = flat[name].min(dim=1).values, flat[name].max(dim=1).values
        others = set().union(*(pixels[o] for o in SPLITS if o != name))
        mine = pixels[name]
        rows.append(
            {
                "split": name,
                "all black": int((hi == 0).sum()),
                "all white": int((lo == 255).sum()),
                "constant": int((lo == hi).sum()),
                "duplicates within": len(mine) - len(set(mine)),
                "also in another split": len(set(mine) & others),
            }
        )
    table = pd.DataFrame(rows).set_index("split")
    return table.rename_axis(index=None, columns="split")  # one header row

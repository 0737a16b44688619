"""Helpers for tests and quick runs: a tiny synthetic CIFAR-10."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from byhand.cifar import CIFAR_CLASSES, FOLDER, META_FILE, TRAIN_FILES


def write_synthetic_cifar10(
    root: str | os.PathLike,
    n_train_per_class: int = 10,
    n_test_per_class: int = 4,
    seed: int = 0,
    *,
    noise: float = 40.0,
    test_shift: float = 0.0,
    spread: float = 0.0,
) -> Path:
    """Write a tiny, learnable CIFAR-10 in the official pickle layout.

    For tests and quick runs without the real data: each class has its own
    mean colour plus Gaussian ``noise`` (std, in pixel values), so a
    classifier can learn it; ``test_shift`` brightens the test images, so
    statistics of the test set differ from the training set's.
    ``spread`` (std, in pixel values) moves each image's colour as a whole,
    one offset per image and channel: unlike pixel noise, which a network
    averages away, a spread near the distance between two class colours
    makes the classes overlap, so no model gets every image right and
    models trained from different seeds disagree.  Returns ``root``.
    """
    rng = np.random.default_rng(seed)
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    colours = rng.uniform(40, 215, size=(10, 3))

    def batch(n_per_class: int, label: str, shift: float = 0.0) -> dict:
        return _batch(rng, colours, n_per_class, label, shift, noise, spread)

    per_file = max(1, n_train_per_class // 5)
    for i, name in enumerate(TRAIN_FILES):
        n = per_file if i < 4 else n_train_per_class - 4 * per_file
        with open(folder / name, "wb") as f:
            pickle.dump(batch(max(n, 1), name), f, protocol=2)
    with open(folder / "test_batch", "wb") as f:
        test = batch(n_test_per_class, "test", test_shift)
        pickle.dump(test, f, protocol=2)
    with open(folder / META_FILE, "wb") as f:
        meta = {
            "label_names": CIFAR_CLASSES,
            "num_cases_per_batch": 10000,
            "num_vis": 3072,
        }
        pickle.dump(meta, f, protocol=2)
    return Path(root)


def relabel(batch: str | os.PathLike, old: int, new: int) -> None:
    """Rewrite a batch file with every label ``old`` changed to ``new``
    (a CIFAR-10 copy that lacks a class)."""
    with open(batch, "rb") as f:
        obj = pickle.load(f)
    obj["labels"] = [new if y == old else y for y in obj["labels"]]
    with open(batch, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def _batch(
    rng: np.random.Generator,
    colours: np.ndarray,
    n_per_class: int,
    label: str,
    shift: float,
    noise: float,
    spread: float,
) -> dict:
    """One batch file's dict: class colour + per-image offset + noise."""
    labels = np.tile(np.arange(10), n_per_class)
    pixels = rng.normal(shift, noise, size=(len(labels), 3, 32 * 32))
    # Drawn only when asked: without a spread, the data stay as before.
    offsets = rng.normal(0.0, spread, (len(labels), 3, 1)) if spread else 0.0
    data = colours[labels][:, :, None] + offsets + pixels
    data = np.clip(data, 0, 255).astype(np.uint8).reshape(-1, 3072)
    return {
        "batch_label": label,
        "labels": labels.tolist(),
        "data": data,
        "filenames": [f"{label}_{i:05d}.png" for i in range(len(labels))],
    }

"""A tiny synthetic CIFAR-10 for tests and quick runs (tiny search)."""

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

    Each class has its own mean colour plus Gaussian pixel ``noise`` (std,
    in pixel values); ``test_shift`` brightens the test images.  ``spread``
    (std) moves each image's colour as a whole: near the distance between
    two class colours, the classes overlap, so no model gets every image
    right and models trained from different seeds disagree.
    """
    rng = np.random.default_rng(seed)
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    colours = rng.uniform(40, 215, size=(10, 3))

    def batch(n_per_class: int, label: str, shift: float = 0.0) -> dict:
        """One batch file's dict: class colour + image offset + noise."""
        labels = np.tile(np.arange(10), n_per_class)
        pixels = rng.normal(shift, noise, size=(len(labels), 3, 32 * 32))
        # Drawn only when asked: without a spread, the data stay as before.
        offsets = rng.normal(0.0, spread, (len(labels), 3, 1)) if spread else 0
        data = colours[labels][:, :, None] + offsets + pixels
        data = np.clip(data, 0, 255).astype(np.uint8).reshape(-1, 3072)
        names = [f"{label}_{i:05d}.png" for i in range(len(labels))]
        return {"batch_label": label, "labels": labels.tolist(),
                "data": data, "filenames": names}  # fmt: skip

    per_file = max(1, n_train_per_class // 5)
    files = {}
    for i, name in enumerate(TRAIN_FILES):
        n = per_file if i < 4 else n_train_per_class - 4 * per_file
        files[name] = batch(max(n, 1), name)
    files["test_batch"] = batch(n_test_per_class, "test", test_shift)
    files[META_FILE] = {
        "label_names": CIFAR_CLASSES,
        "num_cases_per_batch": 10000,
        "num_vis": 3072,
    }
    for name, obj in files.items():
        with open(folder / name, "wb") as f:
            pickle.dump(obj, f, protocol=2)
    return Path(root)


def relabel(batch: str | os.PathLike, old: int, new: int) -> None:
    """Rewrite a batch file with every label ``old`` changed to ``new``
    (a CIFAR-10 copy that lacks a class)."""
    with open(batch, "rb") as f:
        obj = pickle.load(f)
    obj["labels"] = [new if y == old else y for y in obj["labels"]]
    with open(batch, "wb") as f:
        pickle.dump(obj, f, protocol=2)

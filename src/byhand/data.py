"""CIFAR-10 cat vs car: load, check, resize, split, standardize (task 1).

Where the data comes from, in order: the ``root`` argument, the
``CIFAR10_ROOT`` environment variable, else ``data/`` in the project, where
torchvision downloads it on a connected machine.  A root holds the standard
"python version" layout, ``<root>/cifar-10-batches-py/``.

Labels: 0 = car (CIFAR-10's ``automobile``, class 1) and 1 = cat (class 3),
in CIFAR-10's own class order.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import socket
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset
from torchvision.datasets import CIFAR10 as TVCIFAR10
from torchvision.transforms.v2 import functional as tvf

from byhand._io import atomic_write

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_FILES = ["test_batch"]
META_FILE = "batches.meta"
CIFAR_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip
# Our two classes, in CIFAR-10's order: label 0 = car, 1 = cat.
CLASSES = ["car", "cat"]
CIFAR_IDS = [1, 3]  # automobile, cat
# MD5s of the official release, as torchvision checks them.
OFFICIAL_MD5 = dict(TVCIFAR10.train_list + TVCIFAR10.test_list)
OFFICIAL_MD5[META_FILE] = TVCIFAR10.meta["md5"]
_warned_roots: set[str] = set()


class DataError(RuntimeError):
    """CIFAR-10 is missing, incomplete or not valid."""


# --------------------------------------------------------------- locating


def project_root() -> Path:
    """The project folder (Quarto's, else the checkout holding src/)."""
    if "QUARTO_PROJECT_DIR" in os.environ:
        return Path(os.environ["QUARTO_PROJECT_DIR"])
    here = Path(__file__).resolve()
    if (here.parents[2] / "pyproject.toml").exists():
        return here.parents[2]
    return Path.cwd()


def resolve_root(root: str | os.PathLike | None = None) -> Path:
    """``root``, else ``$CIFAR10_ROOT``, else ``<project>/data``."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get("CIFAR10_ROOT"):
        return Path(os.environ["CIFAR10_ROOT"]).expanduser()
    return project_root() / "data"


# ---------------------------------------------------------------- reading


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles only what a CIFAR-10 batch holds.

    A pickle can call any importable function while it loads; a batch only
    needs numpy's array reconstruction and dtypes (plus ``_codecs.encode``,
    which Python 3 uses to pickle bytes at protocol 2).
    """

    ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: not part of a CIFAR-10 "
                "batch"
            )
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            obj = _BatchUnpickler(f, encoding="latin1").load()
    except FileNotFoundError:
        raise
    except Exception as err:
        raise DataError(
            f"{path} is not a valid CIFAR-10 batch ({err}); delete the "
            "folder and download again, or point CIFAR10_ROOT at a good copy"
        ) from err
    if not isinstance(obj, dict):
        raise DataError(f"{path} is not a valid CIFAR-10 batch: not a dict")
    return obj


def load_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (n, 3, 32, 32) uint8 and labels (n,) int64 of one batch file.

    Checks the keys, shapes, dtypes and label range, naming the file.
    """
    obj = _unpickle(path)

    def bad(why: str) -> DataError:
        return DataError(f"{path} is not a valid CIFAR-10 batch: {why}")

    if "data" not in obj or "labels" not in obj:
        raise bad(f"keys 'data' and 'labels' expected, found {sorted(obj)}")
    data, labels = obj["data"], obj["labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        raise bad(
            f"'data' must be a uint8 array, got {type(data).__name__}"
            f" {getattr(data, 'dtype', '')}"
        )
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise bad(f"'data' must have shape (n, 3072), got {data.shape}")
    labels = np.asarray(labels)
    if labels.shape != (data.shape[0],) or labels.dtype.kind not in "iu":
        raise bad(f"'labels' must be {data.shape[0]} integers")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise bad(
            f"labels must lie in 0..9, found {labels.min()}..{labels.max()}"
        )
    images = torch.from_numpy(data).view(-1, 3, 32, 32)
    return images, torch.from_numpy(labels.astype(np.int64))


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class CIFAR10:
    """The whole data set as tensors, with where it came from."""

    train_images: torch.Tensor  # (50000, 3, 32, 32) uint8
    train_labels: torch.Tensor  # (50000,) int64, CIFAR-10 class ids
    test_images: torch.Tensor
    test_labels: torch.Tensor
    root: Path
    md5: dict[str, str]
    official: bool

    @property
    def checksum(self) -> str:
        """One digest of every file: keys caches of what was computed."""
        return _checksum(self.md5)


def _download(root: Path) -> None:
    """torchvision's download into a temporary folder, then a rename."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".download-"))
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)  # never hang on a dead connection
    try:
        TVCIFAR10(str(tmp), train=True, download=True)
        os.replace(tmp / FOLDER, root / FOLDER)
    finally:
        socket.setdefaulttimeout(old_timeout)
        shutil.rmtree(tmp, ignore_errors=True)


def locate(
    root: str | os.PathLike | None = None, download: bool = True
) -> tuple[Path, dict[str, str], bool]:
    """Find (downloading if allowed and needed) the batch files.

    Returns the root, the MD5 of every file and whether they are the
    official release's; warns once per root when they are not.
    """
    root = resolve_root(root)
    folder = root / FOLDER
    if not folder.is_dir() and download:
        try:
            _download(root)
        except Exception as err:
            raise DataError(
                f"CIFAR-10 was not found in {folder} and could not be "
                f"downloaded ({type(err).__name__}: {err}). Fix it either "
                "way: set CIFAR10_ROOT (or pass root=) to a folder that "
                f"holds {FOLDER}/, or connect to the internet so "
                f"torchvision can download it into {root}."
            ) from err
    names = [*TRAIN_FILES, *TEST_FILES, META_FILE]
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise DataError(
            f"CIFAR-10 is incomplete or missing in {folder}: "
            f"{', '.join(missing)} not found. Set CIFAR10_ROOT (or pass "
            f"root=) to a folder that holds {FOLDER}/, or delete {folder} "
            "on a connected machine to download it again."
        )
    md5 = {n: _md5(folder / n) for n in names}
    official = all(md5[n] == OFFICIAL_MD5[n] for n in names)
    if not official and str(root) not in _warned_roots:
        _warned_roots.add(str(root))
        warnings.warn(
            f"CIFAR-10 in {root} does not match the official release's "
            "MD5 checksums; it is accepted because its batches are checked "
            "instead (keys, shapes, dtypes, label range).",
            stacklevel=3,
        )
    return root, md5, official


def _checksum(md5: dict[str, str]) -> str:
    joined = ",".join(f"{k}:{v}" for k, v in sorted(md5.items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def load_cifar10(
    root: str | os.PathLike | None = None, download: bool = True
) -> CIFAR10:
    """Read (downloading if allowed and needed) and validate CIFAR-10."""
    return _read(*locate(root, download))


def _read(root: Path, md5: dict[str, str], official: bool) -> CIFAR10:
    """Unpickle and check the batches that `locate` found."""
    folder = root / FOLDER
    meta = _unpickle(folder / META_FILE)
    if meta.get("label_names") != CIFAR_CLASSES:
        raise DataError(
            f"{folder / META_FILE} is not CIFAR-10's: label_names are "
            f"{meta.get('label_names')}"
        )
    train = [load_batch(folder / n) for n in TRAIN_FILES]
    test = load_batch(folder / TEST_FILES[0])
    return CIFAR10(
        train_images=torch.cat([x for x, _ in train]),
        train_labels=torch.cat([y for _, y in train]),
        test_images=test[0],
        test_labels=test[1],
        root=root,
        md5=md5,
        official=official,
    )


# ---------------------------------------------------------- preprocessing


def resize(images: torch.Tensor, size: int = 16) -> torch.Tensor:
    """Resize a uint8 batch (n, 3, H, W) at once, antialiased.

    Same filter as ``transforms.Resize(size)`` on PIL images (bilinear with
    antialias), but on the whole batch in one call.
    """
    return tvf.resize(images, [size, size], antialias=True)


@dataclass
class CatCarSplits:
    """Training, validation and test sets of 16x16 cats and cars."""

    train: TensorDataset
    val: TensorDataset
    test: TensorDataset
    classes: list[str]
    mean: torch.Tensor  # per channel, training split only, on [0, 1]
    std: torch.Tensor
    images: dict[str, torch.Tensor]  # uint8 images per split, for display
    index: dict[str, torch.Tensor]  # positions in the official sets
    checksum: str
    seed: int

    @property
    def sizes(self) -> dict[str, int]:
        return {
            "train": len(self.train),
            "val": len(self.val),
            "test": len(self.test),
        }


CACHE_VERSION = 1


def cache_dir() -> Path:
    """Where computed data is kept: ``$BYHAND_CACHE`` or ``data/cache``."""
    if os.environ.get("BYHAND_CACHE"):
        return Path(os.environ["BYHAND_CACHE"])
    return project_root() / "data" / "cache"


def _cat_car_resized(
    root: Path, md5: dict[str, str], official: bool, size: int
) -> dict:
    """Cats and cars of both official sets, resized, as uint8 tensors.

    Computed once per source (keyed by its checksums) and kept in the
    cache folder, so a second load skips unpickling and resizing.
    """
    checksum = _checksum(md5)
    path = cache_dir() / f"catcar-v{CACHE_VERSION}-{checksum}-{size}px.pt"
    if path.exists():
        try:
            return torch.load(path, weights_only=True)
        except Exception as err:
            warnings.warn(
                f"cache file {path} is corrupt ({err}); rebuilding it",
                stacklevel=3,
            )
    raw = _read(root, md5, official)  # checksums already computed
    # Resize every image (task 1's order), then keep our two classes.
    train_all = resize(raw.train_images, size)
    test_all = resize(raw.test_images, size)
    ids = torch.tensor(CIFAR_IDS)
    pos_train = torch.nonzero(torch.isin(raw.train_labels, ids)).flatten()
    pos_test = torch.nonzero(torch.isin(raw.test_labels, ids)).flatten()
    # CIFAR-10 id -> our label: automobile (1) -> 0, cat (3) -> 1.
    lut = torch.full((10,), -1, dtype=torch.int64)
    lut[ids] = torch.arange(len(CIFAR_IDS))
    small = {
        "x_train": train_all[pos_train].contiguous(),
        "y_train": lut[raw.train_labels[pos_train]],
        "pos_train": pos_train,
        "x_test": test_all[pos_test].contiguous(),
        "y_test": lut[raw.test_labels[pos_test]],
        "pos_test": pos_test,
    }
    atomic_write(path, lambda tmp: torch.save(small, tmp))
    return small


def stratified_split(
    labels: torch.Tensor, val_fraction: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (train, val), each class split in the same proportion.

    The validation part of each class is drawn with a generator seeded by
    ``seed``; both index lists come back sorted, in the data's own order.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    g = torch.Generator().manual_seed(seed)
    train_idx, val_idx = [], []
    for c in torch.unique(labels):
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        n_val = round(len(idx) * val_fraction)
        val_idx.append(idx[:n_val])
        train_idx.append(idx[n_val:])
    return torch.sort(torch.cat(train_idx)).values, torch.sort(
        torch.cat(val_idx)
    ).values


def cat_car_splits(
    root: str | os.PathLike | None = None,
    *,
    size: int = 16,
    val_fraction: float = 0.1,
    seed: int = 42,
    download: bool = True,
    dtype: torch.dtype | None = None,
) -> CatCarSplits:
    """Task 1: resize to ``size``, split, keep cat and car, standardize.

    Validation is ``val_fraction`` of the official training set, stratified
    by class and drawn with ``seed``; the test set is the official one.
    Each channel is standardized with the training split's mean and std.
    Images come in ``dtype`` (default: ``torch.get_default_dtype()``).
    """
    root, md5, official = locate(root, download)
    checksum = _checksum(md5)
    small = _cat_car_resized(root, md5, official, size)
    dtype = dtype or torch.get_default_dtype()
    pos_train, pos_test = small["pos_train"], small["pos_test"]
    y_trainval, y_test = small["y_train"], small["y_test"]
    train_all, test_all = small["x_train"], small["x_test"]
    tr, va = stratified_split(y_trainval, val_fraction, seed)
    images = {"train": train_all[tr], "val": train_all[va], "test": test_all}
    labels = {"train": y_trainval[tr], "val": y_trainval[va], "test": y_test}
    index = {"train": pos_train[tr], "val": pos_train[va], "test": pos_test}
    # Standardization statistics from the training split only.
    train01 = images["train"].to(torch.float64) / 255
    mean = train01.mean(dim=(0, 2, 3))
    std = train01.std(dim=(0, 2, 3))

    def standardize(x: torch.Tensor) -> torch.Tensor:
        x01 = x.to(torch.float64) / 255
        return ((x01 - mean[:, None, None]) / std[:, None, None]).to(dtype)

    sets = {
        k: TensorDataset(standardize(images[k]), labels[k]) for k in images
    }
    return CatCarSplits(
        train=sets["train"],
        val=sets["val"],
        test=sets["test"],
        classes=list(CLASSES),
        mean=mean,
        std=std,
        images=images,
        index=index,
        checksum=checksum,
        seed=seed,
    )


def dataloaders(
    splits: CatCarSplits, batch_size: int = 256
) -> dict[str, DataLoader]:
    """DataLoaders for each split, unshuffled so training reproduces."""
    return {
        name: DataLoader(ds, batch_size=batch_size, shuffle=False)
        for name, ds in (
            ("train", splits.train),
            ("val", splits.val),
            ("test", splits.test),
        )
    }


# ------------------------------------------------------- synthetic copies


def write_synthetic_cifar10(
    root: str | os.PathLike,
    n_train_per_class: int = 10,
    n_test_per_class: int = 4,
    seed: int = 0,
) -> Path:
    """Write a tiny, learnable CIFAR-10 in the official pickle layout.

    For tests and quick runs without the real data: each class has its own
    mean colour plus noise, so a classifier can learn it.  Returns ``root``.
    """
    rng = np.random.default_rng(seed)
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    colours = rng.uniform(40, 215, size=(10, 3))

    def batch(n_per_class: int, label: str) -> dict:
        labels = np.tile(np.arange(10), n_per_class)
        noise = rng.normal(0, 40, size=(len(labels), 3, 32 * 32))
        data = colours[labels][:, :, None] + noise
        data = np.clip(data, 0, 255).astype(np.uint8).reshape(-1, 3072)
        return {
            "batch_label": label,
            "labels": labels.tolist(),
            "data": data,
            "filenames": [f"{label}_{i:05d}.png" for i in range(len(labels))],
        }

    per_file = max(1, n_train_per_class // 5)
    for i, name in enumerate(TRAIN_FILES):
        n = per_file if i < 4 else n_train_per_class - 4 * per_file
        with open(folder / name, "wb") as f:
            pickle.dump(batch(max(n, 1), name), f, protocol=2)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump(batch(n_test_per_class, "test"), f, protocol=2)
    with open(folder / META_FILE, "wb") as f:
        meta = {
            "label_names": CIFAR_CLASSES,
            "num_cases_per_batch": 10000,
            "num_vis": 3072,
        }
        pickle.dump(meta, f, protocol=2)
    return Path(root)


def grayscale_crops(
    n: int = 5,
    size: int = 24,
    root: str | os.PathLike | None = None,
    download: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` training images as grayscale centre crops.

    A stand-in for the course's five 24x24 MNIST crops (MNIST cannot be
    downloaded everywhere): images (n, 1, size, size) on [0, 1] in the
    default dtype and one-hot targets (n, 10) for a ``[576, 16, 10]`` net.
    """
    raw = load_cifar10(root, download=download)
    gray = tvf.rgb_to_grayscale(raw.train_images[:n])
    crops = tvf.center_crop(gray, [size, size])
    X = crops.to(torch.get_default_dtype()) / 255
    Y = torch.nn.functional.one_hot(raw.train_labels[:n], 10)
    return X, Y.to(torch.get_default_dtype())

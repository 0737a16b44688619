"""Reading CIFAR-10: locate or download, unpickle safely, validate.

A root holds the "python version" layout, ``<root>/cifar-10-batches-py/``.
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

from byhand._io import CIFAR_FOLDER as FOLDER
from byhand._io import resolve_root

TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_FILES = ["test_batch"]
META_FILE = "batches.meta"
CIFAR_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip
# The official release's MD5s, as torchvision lists them (a test checks);
# written out, so that reading the data does not import torchvision (1.7 s).
OFFICIAL_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    META_FILE: "5ff9c542aee3614f3951f8cda6e48888",
}
_warned_roots: set[str] = set()


class DataError(RuntimeError):
    """CIFAR-10 is missing, incomplete or not valid."""


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles only numpy arrays and dtypes (and ``_codecs.encode``, bytes
    at protocol 2): a pickle can call any importable function."""

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


def _unpickle(path: Path) -> Any:
    try:
        with open(path, "rb") as f:
            return _BatchUnpickler(f, encoding="latin1").load()
    except Exception as err:
        raise DataError(
            f"{path} is not a valid CIFAR-10 batch ({err}); delete the "
            "folder and download again, or point CIFAR10_ROOT at a good copy"
        ) from err


def load_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (n, 3, 32, 32) uint8 and labels (n,) int64 of one batch file,
    checked (keys, shapes, dtypes, label range)."""
    obj = _unpickle(path)

    def bad(why: str) -> DataError:
        return DataError(f"{path} is not a valid CIFAR-10 batch: {why}")

    if not isinstance(obj, dict) or not {"data", "labels"} <= obj.keys():
        raise bad("not a dict with the keys 'data' and 'labels'")
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


@dataclass
class CIFAR10:
    """The whole data set as tensors."""

    train_images: torch.Tensor  # (50000, 3, 32, 32) uint8
    train_labels: torch.Tensor  # (50000,) int64, CIFAR-10 class ids
    test_images: torch.Tensor
    test_labels: torch.Tensor
    official: bool  # the files are the official release's


def _download(root: Path) -> None:
    """torchvision's download into a temporary folder, then a rename."""
    import torchvision.datasets  # here: importing it costs 1.7 s

    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".download-"))
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)  # never hang on a dead connection
    try:
        torchvision.datasets.CIFAR10(str(tmp), train=True, download=True)
        os.replace(tmp / FOLDER, root / FOLDER)
    finally:
        socket.setdefaulttimeout(old_timeout)
        shutil.rmtree(tmp, ignore_errors=True)


def _check_root(root: Path) -> None:
    """A DataError if ``root`` cannot be the folder that holds FOLDER."""
    for path in (root, root / FOLDER):
        if path.exists() and not path.is_dir():
            raise DataError(
                f"{path} is a file, not a folder; point CIFAR10_ROOT (or "
                f"root=) at the folder that holds {FOLDER}/"
            )
    if root.name == FOLDER or (root / TRAIN_FILES[0]).is_file():
        raise DataError(
            f"{root} is the {FOLDER} folder itself; point CIFAR10_ROOT (or "
            f"root=) at its parent, {root.parent}"
        )


def locate(
    root: str | os.PathLike | None = None, download: bool = True
) -> tuple[Path, str, bool]:
    """The root, one digest of its files' MD5s (keys caches of what was
    computed from them), and whether they are the official release's (a
    warning once per root if not), downloading if allowed."""
    root = resolve_root(root)
    folder = root / FOLDER
    _check_root(root)
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
    md5 = {
        n: hashlib.md5((folder / n).read_bytes()).hexdigest() for n in names
    }
    official = md5 == OFFICIAL_MD5
    if not official and str(root) not in _warned_roots:
        _warned_roots.add(str(root))
        warnings.warn(
            f"CIFAR-10 in {root} does not match the official release's "
            "MD5 checksums; it is accepted because its batches are checked "
            "instead (keys, shapes, dtypes, label range).",
            stacklevel=3,
        )
    joined = ",".join(f"{k}:{v}" for k, v in sorted(md5.items()))
    return root, hashlib.sha256(joined.encode()).hexdigest()[:16], official


def load_cifar10(
    root: str | os.PathLike | None = None, download: bool = True
) -> CIFAR10:
    """Read (downloading if allowed and needed) and validate CIFAR-10."""
    root, _, official = locate(root, download)
    train = read_batches(root, TRAIN_FILES)
    return CIFAR10(*train, *read_batches(root, TEST_FILES), official=official)


def read_batches(
    root: Path, names: list[str]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The images and labels of the batch files ``names``, concatenated;
    a DataError unless ``batches.meta`` names CIFAR-10's ten classes."""
    folder = root / FOLDER
    meta = _unpickle(folder / META_FILE)
    if not isinstance(meta, dict) or meta.get("label_names") != CIFAR_CLASSES:
        raise DataError(
            f"{folder / META_FILE} is not CIFAR-10's: its label_names are "
            f"not {', '.join(CIFAR_CLASSES)}"
        )
    images, labels = zip(*(load_batch(folder / n) for n in names), strict=True)
    return torch.cat(images), torch.cat(labels)

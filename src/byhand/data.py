"""Task 1: cats (label 1) and cars (0) resized, split and standardized;
data that cannot answer the question (a class missing from a split,
constant images, NaN) is refused."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from byhand import cifar
from byhand._io import atomic_write, cache_dir, torch_save
from byhand.cifar import DataError

CLASSES = ["car", "cat"]
CIFAR_IDS = [1, 3]  # automobile, cat
SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test"}
CACHE_VERSION = 2


def resize(images: torch.Tensor, size: int = 16) -> torch.Tensor:
    """A uint8 batch (n, 3, H, W) resized as ``transforms.Resize(size)``
    resizes PIL images (bilinear, antialiased)."""
    # Imported here: only a cold cache resizes, and torchvision costs 1.7 s.
    from torchvision.transforms.v2 import functional as tvf

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
        return {k: len(getattr(self, k)) for k in SPLIT_NAMES}


def _cat_car_resized(
    root: Path, checksum: str, size: int, cache: Path
) -> dict:
    """Cats and cars of both official sets, resized, as uint8 tensors;
    computed once per source (keyed by its checksum), kept in ``cache``."""
    path = cache / f"catcar-v{CACHE_VERSION}-{checksum}-{size}px.pt"
    if path.exists():
        try:
            small = torch.load(path, weights_only=True)
            _check_cache(small, checksum, size)
            return small
        except Exception as err:
            warnings.warn(
                f"cache file {path} is corrupt ({err!r}); rebuilding it",
                stacklevel=3,
            )
    small = {"checksum": checksum}
    for part, files in (
        ("train", cifar.TRAIN_FILES),
        ("test", cifar.TEST_FILES),
    ):
        images, labels = cifar.read_batches(root, files)
        # Resize every image (task 1's order), then keep our two classes.
        pos = torch.isin(labels, torch.tensor(CIFAR_IDS)).nonzero().flatten()
        small[f"x_{part}"] = resize(images, size)[pos].contiguous()
        # Our label: 0 for an automobile (CIFAR-10's 1), 1 for a cat (3).
        small[f"y_{part}"] = (labels[pos] == CIFAR_IDS[1]).long()
        small[f"pos_{part}"] = pos
    _check_source_classes(root, small)  # a cache always holds both
    try:
        atomic_write(path, lambda tmp: torch_save(small, tmp))
    except OSError as err:
        warnings.warn(
            f"cannot write the resize cache in {path.parent} ({err}); "
            "carrying on without it. Set BYHAND_CACHE to a writable folder "
            "to make the next load fast.",
            stacklevel=3,
        )
    return small


def _check_cache(small: dict, checksum: str, size: int) -> None:
    """Raise unless ``small`` is what `_cat_car_resized` saves."""
    if small["checksum"] != checksum:
        raise ValueError("made from other source files")
    for part in ("train", "test"):
        x, y, pos = (small[f"{k}_{part}"] for k in ("x", "y", "pos"))
        if x.dtype != torch.uint8 or x.shape[1:] != (3, size, size):
            raise ValueError(f"{part} images are {x.dtype} {tuple(x.shape)}")
        if not len(x) == len(y) == len(pos):
            raise ValueError(f"{part} images, labels and positions differ")
        if y.dtype != torch.int64 or set(y.unique().tolist()) != {0, 1}:
            raise ValueError(f"{part} labels are not 0 and 1")


def _check_source_classes(root: Path, small: dict) -> None:
    """Raise `DataError` unless both official sets hold both classes."""
    for part, key, files in (
        ("training and validation splits have", "y_train", "data_batch_1-5"),
        ("test split has", "y_test", cifar.TEST_FILES[0]),
    ):
        for label, name in enumerate(CLASSES):
            if not (small[key] == label).any():
                raise DataError(
                    f"the {part} no {name!r} images: the CIFAR-10 copy in "
                    f"{root} lacks {cifar.CIFAR_CLASSES[CIFAR_IDS[label]]} "
                    f"images in {cifar.FOLDER}/{files}; point CIFAR10_ROOT "
                    "(or --root) at a complete copy"
                )


def stratified_split(
    labels: torch.Tensor, val_fraction: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted indices (train, val), each class split in the same
    proportion, drawn with ``seed`` (`_check_classes` then refuses a
    split left without a class, an empty one included)."""
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
    return torch.cat(train_idx).sort().values, torch.cat(val_idx).sort().values


def _check_classes(
    labels: dict[str, torch.Tensor], val_fraction: float
) -> None:
    """Raise `DataError` unless every split holds both classes."""
    for split, y in labels.items():
        for label, name in enumerate(CLASSES):
            if (y == label).any():
                continue
            n = sum(int((labels[k] == label).sum()) for k in ("train", "val"))
            raise DataError(
                f"the {SPLIT_NAMES[split]} split has no {name!r} images: "
                f"val_fraction={val_fraction} of {n} {name} images leaves "
                "none there; use a val_fraction that leaves some in both "
                "splits, or more images"
            )


def _standardized(
    images: dict[str, torch.Tensor],
    labels: dict[str, torch.Tensor],
) -> tuple[dict[str, TensorDataset], torch.Tensor, torch.Tensor]:
    """Each split standardized per channel with the training split's mean
    and std, in the default dtype (section 3.3); `DataError` if a split is
    constant in a channel (nothing to learn) or NaN would reach training."""
    x01 = {k: x.to(torch.float64) / 255 for k, x in images.items()}
    mean = x01["train"].mean(dim=(0, 2, 3))
    std = x01["train"].std(dim=(0, 2, 3))
    sets = {}
    for k, x in x01.items():
        own = x.std(dim=(0, 2, 3)).tolist()
        flat = [c for c, s in zip("RGB", own, strict=True) if s == 0]
        if flat:
            raise DataError(
                f"the {SPLIT_NAMES[k]} split is constant in channel "
                f"{', '.join(flat)} (standard deviation 0): its images "
                "carry nothing to learn and cannot be standardized; point "
                "CIFAR10_ROOT (or --root) at real CIFAR-10 images"
            )
        z = (x - mean[:, None, None]) / std[:, None, None]
        z = z.to(torch.get_default_dtype())
        if not torch.isfinite(z).all():
            raise DataError(
                f"the {SPLIT_NAMES[k]} split holds NaN or infinite values "
                f"after standardization (std {std.tolist()}); point "
                "CIFAR10_ROOT (or --root) at real CIFAR-10 images"
            )
        sets[k] = TensorDataset(z, labels[k])
    return sets, mean, std


def cat_car_splits(
    root: str | os.PathLike | None = None,
    *,
    size: int = 16,
    val_fraction: float = 0.1,
    seed: int = 42,
    download: bool = True,
    cache: str | os.PathLike | None = None,
) -> CatCarSplits:
    """Task 1: resize to ``size``, keep cat and car, split off a stratified
    ``val_fraction`` of the official training set for validation, and
    standardize with the training split's statistics."""
    folder = Path(cache) if cache is not None else cache_dir()
    root, checksum, _ = cifar.locate(root, download)
    small = _cat_car_resized(root, checksum, size, folder)
    tr, va = stratified_split(small["y_train"], val_fraction, seed)
    # Validation comes from the official training set.
    rows = {"train": ("train", tr), "val": ("train", va),
            "test": ("test", slice(None))}  # fmt: skip
    images = {k: small[f"x_{p}"][i] for k, (p, i) in rows.items()}
    labels = {k: small[f"y_{p}"][i] for k, (p, i) in rows.items()}
    _check_classes(labels, val_fraction)
    sets, mean, std = _standardized(images, labels)
    return CatCarSplits(
        **sets,
        classes=list(CLASSES),
        mean=mean,
        std=std,
        images=images,
        index={k: small[f"pos_{p}"][i] for k, (p, i) in rows.items()},
        checksum=small["checksum"],
        seed=seed,
    )


def loader(ds: TensorDataset, batch_size: int) -> DataLoader:
    """``DataLoader(ds, batch_size)``'s batches, each one slice of the
    tensors, not collated image by image or gathered by index (faster)."""
    n = len(ds)
    batches = [slice(i, i + batch_size) for i in range(0, n, batch_size)]
    return DataLoader(ds, sampler=batches, batch_size=None)


def dataloaders(
    splits: CatCarSplits, batch_size: int = 256
) -> dict[str, DataLoader]:
    """A loader for each split, unshuffled so training reproduces."""
    return {k: loader(getattr(splits, k), batch_size) for k in SPLIT_NAMES}


def _interleaved(
    ds: TensorDataset, copies: list[torch.Tensor]
) -> TensorDataset:
    """Each image's ``copies`` one after the other, with its label."""
    x, y = ds.tensors
    stacked = torch.stack(copies, dim=1)  # (n, copies, C, H, W)
    return TensorDataset(
        stacked.reshape(-1, *x.shape[1:]), y.repeat_interleave(len(copies))
    )


def with_flips(ds: TensorDataset) -> TensorDataset:
    """The second protocol (training split): each image, then its mirror
    (which keeps the per-channel statistics of the standardization)."""
    x = ds.tensors[0]
    return _interleaved(ds, [x, x.flip(-1)])


def _shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Images moved by (dy, dx), at most one pixel each way; the uncovered
    row or column is 0, the training mean after standardization."""
    h, w = x.shape[-2:]
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    return padded[..., 1 - dy : 1 - dy + h, 1 - dx : 1 - dx + w]


# The shift protocol's moves: none, then one pixel up, down, left, right.
SHIFTS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


def with_shifts(ds: TensorDataset) -> TensorDataset:
    """The third protocol (training split): each image moved by each of
    `SHIFTS`, then its mirror moved the same way (ten copies)."""
    x = ds.tensors[0]
    copies = [_shift(img, dy, dx) for img in (x, x.flip(-1))
              for dy, dx in SHIFTS]  # fmt: skip
    return _interleaved(ds, copies)

"""tests/synthetic.py: the synthetic CIFAR-10 is valid and as asked."""

import pytest
import torch
from synthetic import write_synthetic_cifar10

from byhand import cifar


def test_synthetic_copy_loads_with_the_asked_sizes(tmp_path):
    root = write_synthetic_cifar10(tmp_path, 7, 3)
    with pytest.warns(UserWarning, match="official"):
        raw = cifar.load_cifar10(root, download=False)
    assert torch.bincount(raw.train_labels).tolist() == [7] * 10
    assert torch.bincount(raw.test_labels).tolist() == [3] * 10


def test_test_shift_brightens_the_test_images(tmp_path):
    cifar._warned_roots.clear()
    a = write_synthetic_cifar10(tmp_path / "a", 5, 5)
    b = write_synthetic_cifar10(tmp_path / "b", 5, 5, test_shift=50.0)
    with pytest.warns(UserWarning):
        plain = cifar.load_cifar10(a, download=False)
        shifted = cifar.load_cifar10(b, download=False)
    assert torch.equal(plain.train_images, shifted.train_images)
    gap = (
        shifted.test_images.double().mean() - plain.test_images.double().mean()
    )
    assert 30 < gap < 50  # clipping at 255 takes some of the shift

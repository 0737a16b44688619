"""byhand.data on a small synthetic CIFAR-10 written by the tests."""

import os
import pickle
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms

from byhand import data
from byhand.analysis import (
    describe_images,
    extreme_and_duplicate_images,
    split_class_counts,
)


@pytest.fixture
def cifar_root(tmp_path, monkeypatch):
    # 20 training and 5 test images per class: tiny but stratifiable.
    root = data.write_synthetic_cifar10(tmp_path / "cifar", 20, 5)
    monkeypatch.setenv("BYHAND_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CIFAR10_ROOT", raising=False)
    data._warned_roots.clear()
    return root


def splits_quietly(root, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return data.cat_car_splits(root, download=False, **kw)


def test_shapes_labels_and_dtype(cifar_root):
    s = splits_quietly(cifar_root, val_fraction=0.2)
    assert s.classes == ["car", "cat"]
    assert s.sizes == {"train": 32, "val": 8, "test": 10}
    for ds in (s.train, s.val, s.test):
        x, y = ds.tensors
        assert x.shape[1:] == (3, 16, 16)
        assert x.dtype == torch.float64
        assert set(y.tolist()) == {0, 1}


def test_label_mapping_follows_cifar_ids(cifar_root):
    s = splits_quietly(cifar_root, val_fraction=0.2)
    raw = data.load_cifar10(cifar_root, download=False)
    for split, labels in (
        ("train", raw.train_labels),
        ("test", raw.test_labels),
    ):
        cifar_ids = labels[s.index[split]]
        ours = getattr(s, split).tensors[1]
        # car (0) <- automobile (1), cat (1) <- cat (3)
        assert torch.equal(cifar_ids, torch.tensor([1, 3])[ours])


def test_splits_are_disjoint_and_cover_the_filtered_training_set(cifar_root):
    s = splits_quietly(cifar_root, val_fraction=0.2)
    raw = data.load_cifar10(cifar_root, download=False)
    tr, va = set(s.index["train"].tolist()), set(s.index["val"].tolist())
    assert not tr & va
    keep = torch.isin(raw.train_labels, torch.tensor([1, 3]))
    assert tr | va == set(torch.nonzero(keep).flatten().tolist())


def test_stratified(cifar_root):
    s = splits_quietly(cifar_root, val_fraction=0.2)
    for ds in (s.train, s.val):
        counts = torch.bincount(ds.tensors[1])
        assert counts[0] == counts[1]


def test_seed_gives_the_same_split(cifar_root):
    a = splits_quietly(cifar_root, val_fraction=0.2, seed=7)
    b = splits_quietly(cifar_root, val_fraction=0.2, seed=7)
    c = splits_quietly(cifar_root, val_fraction=0.2, seed=8)
    assert torch.equal(a.index["val"], b.index["val"])
    assert torch.equal(a.train.tensors[0], b.train.tensors[0])
    assert not torch.equal(a.index["val"], c.index["val"])


def test_standardized_with_training_statistics_only(cifar_root):
    s = splits_quietly(cifar_root, val_fraction=0.2)
    x01 = s.images["train"].double() / 255
    torch.testing.assert_close(s.mean, x01.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(s.std, x01.std(dim=(0, 2, 3)))
    x = s.train.tensors[0]
    torch.testing.assert_close(
        x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-12, rtol=0
    )
    # Validation and test use the same statistics, not their own.
    v01 = s.images["val"].double() / 255
    expected = (v01 - s.mean[:, None, None]) / s.std[:, None, None]
    torch.testing.assert_close(s.val.tensors[0], expected)


def test_resize_matches_torchvision_on_pil(cifar_root):
    raw = data.load_cifar10(cifar_root, download=False)
    batch = data.resize(raw.train_images[:20])
    naive = transforms.Resize(16)
    for img, small in zip(raw.train_images[:20], batch, strict=True):
        pil = Image.fromarray(img.permute(1, 2, 0).numpy())
        ref = torch.from_numpy(np.array(naive(pil))).permute(2, 0, 1)
        assert (ref.int() - small.int()).abs().max() <= 1


def test_warns_once_for_unofficial_checksums(cifar_root):
    with pytest.warns(UserWarning, match=str(cifar_root)):
        data.cat_car_splits(cifar_root, download=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data.cat_car_splits(cifar_root, download=False)


def test_second_load_uses_the_cache(cifar_root, tmp_path, monkeypatch):
    splits_quietly(cifar_root)
    cached = list((tmp_path / "cache").glob("catcar-*.pt"))
    assert len(cached) == 1

    def fail(*a, **k):
        raise AssertionError("batches were read again")

    monkeypatch.setattr(data, "load_batch", fail)
    splits_quietly(cifar_root)


def test_corrupt_cache_is_rebuilt(cifar_root, tmp_path):
    good = splits_quietly(cifar_root)
    (cache,) = (tmp_path / "cache").glob("catcar-*.pt")
    cache.write_bytes(b"not a torch file")
    with pytest.warns(UserWarning, match="corrupt"):
        again = data.cat_car_splits(cifar_root, download=False)
    assert torch.equal(good.train.tensors[0], again.train.tensors[0])
    torch.load(cache, weights_only=True)  # rewritten whole


def test_no_data_error_names_both_fixes(tmp_path, monkeypatch):
    def offline(root):
        raise OSError("no network")

    monkeypatch.setattr(data, "_download", offline)
    with pytest.raises(data.DataError) as err:
        data.cat_car_splits(tmp_path / "nothing")
    msg = str(err.value)
    assert "CIFAR10_ROOT" in msg and "connect to the internet" in msg
    assert not (tmp_path / "nothing" / data.FOLDER).exists()


def test_missing_file_error(cifar_root):
    (cifar_root / data.FOLDER / "data_batch_3").unlink()
    with pytest.raises(data.DataError, match="data_batch_3 not found"):
        data.cat_car_splits(cifar_root, download=False)


def _rewrite(root, name, obj):
    with open(root / data.FOLDER / name, "wb") as f:
        pickle.dump(obj, f, protocol=2)


@pytest.mark.parametrize(
    ("obj", "why"),
    [
        ({"data": np.zeros((2, 3072), np.uint8)}, "keys 'data' and 'labels'"),
        (
            {"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]},
            r"shape \(n, 3072\)",
        ),
        ({"data": np.zeros((2, 3072), np.float32), "labels": [0, 1]}, "uint8"),
        ({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 12]}, "0..9"),
        ([1, 2, 3], "not a dict"),
    ],
)
def test_corrupt_batch_is_rejected_naming_the_file(cifar_root, obj, why):
    _rewrite(cifar_root, "data_batch_2", obj)
    with pytest.raises(data.DataError, match=why) as err:
        data.load_cifar10(cifar_root, download=False)
    assert "data_batch_2" in str(err.value)


def test_truncated_batch_is_rejected(cifar_root):
    path = cifar_root / data.FOLDER / "test_batch"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(data.DataError, match="test_batch"):
        data.load_cifar10(cifar_root, download=False)


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_malicious_pickle_is_refused(cifar_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _rewrite(cifar_root, "data_batch_1", {"data": Exploit(), "labels": []})
    with pytest.raises(data.DataError, match="refusing to load") as err:
        data.load_cifar10(cifar_root, download=False)
    assert "data_batch_1" in str(err.value)
    assert not (tmp_path / "PWNED").exists()


def test_root_from_environment(cifar_root, monkeypatch):
    monkeypatch.setenv("CIFAR10_ROOT", str(cifar_root))
    assert data.resolve_root() == cifar_root
    assert data.resolve_root("/elsewhere") == data.Path("/elsewhere")


def test_dataloaders_are_unshuffled(cifar_root):
    s = splits_quietly(cifar_root, val_fraction=0.2)
    loaders = data.dataloaders(s, batch_size=8)
    first = torch.cat([x for x, _ in loaders["train"]])
    assert torch.equal(first, s.train.tensors[0])


def test_analysis_tables(cifar_root):
    s = splits_quietly(cifar_root, val_fraction=0.2)
    counts = split_class_counts(s)
    assert counts.loc["total", "train"] == 32
    assert counts.loc["car", "val %"] == 50.0
    desc = describe_images(s)
    assert desc.loc["train", "shape"] == "3x16x16"
    assert desc.loc["test", "NaN"] == 0
    extremes = extreme_and_duplicate_images(s)
    assert (extremes["also in another split"] == 0).all()


@pytest.mark.slow
def test_real_cifar10_facts(real_cifar10_root):
    root = real_cifar10_root
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = data.load_cifar10(root, download=False)
        s = data.cat_car_splits(root, download=False)
    assert raw.train_labels[0] == 6  # frog, before filtering
    assert torch.bincount(raw.train_labels).tolist() == [5000] * 10
    assert torch.bincount(raw.test_labels).tolist() == [1000] * 10
    # The facts of the copy's README, to its 4 decimals.
    for images, mean, std in (
        (raw.train_images, [0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]),
        (raw.test_images, [0.4942, 0.4851, 0.4504], [0.2467, 0.2429, 0.2616]),
    ):
        x = images.double() / 255
        got_mean = x.mean(dim=(0, 2, 3))
        got_std = x.transpose(0, 1).reshape(3, -1).std(dim=1)
        torch.testing.assert_close(
            got_mean, torch.tensor(mean), atol=5e-5, rtol=0
        )
        torch.testing.assert_close(
            got_std, torch.tensor(std), atol=5e-5, rtol=0
        )
    assert raw.test_labels[0] == 3  # cat
    assert sum(s.sizes.values()) == 12000
    assert torch.bincount(s.test.tensors[1]).tolist() == [1000, 1000]


class FakeTorchvisionCIFAR10:
    """Stands in for torchvision's download: writes a synthetic copy."""

    fail = False

    def __init__(self, root, train, download):
        assert download
        data.write_synthetic_cifar10(root, 10, 2)
        if self.fail:
            raise OSError("connection reset halfway")


def test_download_lands_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "TVCIFAR10", FakeTorchvisionCIFAR10)
    monkeypatch.setenv("BYHAND_CACHE", str(tmp_path / "cache"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = data.cat_car_splits(tmp_path / "root", val_fraction=0.2)
    assert s.sizes["test"] == 4
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == [
        data.FOLDER
    ]


def test_failed_download_leaves_nothing_half_written(tmp_path, monkeypatch):
    monkeypatch.setattr(FakeTorchvisionCIFAR10, "fail", True)
    monkeypatch.setattr(data, "TVCIFAR10", FakeTorchvisionCIFAR10)
    with pytest.raises(data.DataError, match="connection reset halfway"):
        data.cat_car_splits(tmp_path / "root")
    assert list((tmp_path / "root").iterdir()) == []

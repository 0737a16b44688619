"""byhand.data: resize, cache, split, standardize (synthetic CIFAR-10)."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from synthetic import relabel, write_synthetic_cifar10
from torchvision import transforms

from byhand import cifar, data

pytestmark = pytest.mark.task1


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
    raw = cifar.load_cifar10(cifar_root, download=False)
    for split, labels in (
        ("train", raw.train_labels),
        ("val", raw.train_labels),  # validation comes from training
        ("test", raw.test_labels),
    ):
        cifar_ids = labels[s.index[split]]
        ours = getattr(s, split).tensors[1]
        # car (0) <- automobile (1), cat (1) <- cat (3)
        assert torch.equal(cifar_ids, torch.tensor([1, 3])[ours])


def test_splits_are_disjoint_and_cover_the_filtered_training_set(cifar_root):
    s = splits_quietly(cifar_root, val_fraction=0.2)
    raw = cifar.load_cifar10(cifar_root, download=False)
    tr, va = set(s.index["train"].tolist()), set(s.index["val"].tolist())
    assert not tr & va
    keep = torch.isin(raw.train_labels, torch.tensor([1, 3]))
    assert tr | va == set(torch.nonzero(keep).flatten().tolist())


def test_stratified(cifar_root):
    s = splits_quietly(cifar_root, val_fraction=0.2)
    for ds in (s.train, s.val):
        counts = torch.bincount(ds.tensors[1])
        assert counts[0] == counts[1]


def test_splits_keep_the_official_order(cifar_root):
    # Sorted positions: the unshuffled training loader sees cats and cars
    # mixed as CIFAR-10 stores them, not every car before every cat.
    s = splits_quietly(cifar_root, val_fraction=0.2)
    for split in ("train", "val"):
        pos = s.index[split]
        assert torch.equal(pos, pos.sort().values), split
    parts = data.stratified_split(torch.tensor([0, 1] * 10), 0.2, seed=0)
    for idx in parts:
        assert torch.equal(idx, idx.sort().values)


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
    raw = cifar.load_cifar10(cifar_root, download=False)
    batch = data.resize(raw.train_images[:20])
    naive = transforms.Resize(16)
    for img, small in zip(raw.train_images[:20], batch, strict=True):
        pil = Image.fromarray(img.permute(1, 2, 0).numpy())
        ref = torch.from_numpy(np.array(naive(pil))).permute(2, 0, 1)
        assert (ref.int() - small.int()).abs().max() <= 1


def test_second_load_uses_the_cache(cifar_root, tmp_path, monkeypatch):
    splits_quietly(cifar_root)
    cached = list((tmp_path / "cache").glob("catcar-*.pt"))
    assert len(cached) == 1

    def fail(*a, **k):
        raise AssertionError("batches were read again")

    monkeypatch.setattr(cifar, "load_batch", fail)
    splits_quietly(cifar_root)


def test_corrupt_cache_is_rebuilt(cifar_root, tmp_path):
    good = splits_quietly(cifar_root)
    (cache,) = (tmp_path / "cache").glob("catcar-*.pt")
    cache.write_bytes(b"not a torch file")
    with pytest.warns(UserWarning, match="corrupt"):
        again = data.cat_car_splits(cifar_root, download=False)
    assert torch.equal(good.train.tensors[0], again.train.tensors[0])
    torch.load(cache, weights_only=True)  # rewritten whole


def test_dataloaders_are_unshuffled(cifar_root):
    s = splits_quietly(cifar_root, val_fraction=0.2)
    loaders = data.dataloaders(s, batch_size=8)
    for split in ("train", "val", "test"):
        x, y = (torch.cat(t) for t in zip(*loaders[split], strict=True))
        assert torch.equal(x, getattr(s, split).tensors[0]), split
        assert torch.equal(y, getattr(s, split).tensors[1]), split


def test_loader_gives_dataloaders_batches():
    """Same tensors, same strides, same last short batch."""
    ds = torch.utils.data.TensorDataset(torch.randn(21, 3, 2, 2),
                                        torch.arange(21))  # fmt: skip
    ours = list(data.loader(ds, 8))
    theirs = list(torch.utils.data.DataLoader(ds, batch_size=8))
    assert [len(y) for _, y in ours] == [8, 8, 5]
    for (x, y), (tx, ty) in zip(ours, theirs, strict=True):
        assert torch.equal(x, tx) and torch.equal(y, ty)
        assert x.stride() == tx.stride()


@pytest.mark.slow
def test_real_cifar10_facts(real_cifar10_root):
    root = real_cifar10_root
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = cifar.load_cifar10(root, download=False)
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


def test_test_split_uses_the_training_statistics(tmp_path, monkeypatch):
    # Test images 40 levels brighter: their own statistics differ clearly
    # from the training split's, so using them would show.
    root = write_synthetic_cifar10(tmp_path / "c", 20, 10, test_shift=40.0)
    monkeypatch.setenv("BYHAND_CACHE", str(tmp_path / "cache"))
    s = splits_quietly(root, val_fraction=0.2)
    t01 = s.images["test"].double() / 255
    expected = (t01 - s.mean[:, None, None]) / s.std[:, None, None]
    torch.testing.assert_close(s.test.tensors[0], expected)
    # Standardized with the training statistics, brighter stays brighter.
    assert (s.test.tensors[0].mean(dim=(0, 2, 3)) > 0.3).all()
    own = t01.mean(dim=(0, 2, 3))
    assert ((own - s.mean).abs() > 0.1).all()


def test_training_statistics_are_the_training_splits(cifar_root):
    s = splits_quietly(cifar_root, val_fraction=0.2)
    x = s.train.tensors[0]
    torch.testing.assert_close(
        x.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-12, rtol=0
    )


def test_empty_validation_split_is_a_clear_error(cifar_root):
    # 20 images per class: 1 % of them rounds to no validation image.
    with pytest.raises(
        data.DataError, match="the validation split has no 'car' images"
    ):
        splits_quietly(cifar_root, val_fraction=0.01)


def test_unwritable_cache_warns_and_carries_on(
    cifar_root, tmp_path, monkeypatch
):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    monkeypatch.setenv("BYHAND_CACHE", str(blocker / "cache"))
    with pytest.warns(UserWarning, match="BYHAND_CACHE"):
        s = data.cat_car_splits(cifar_root, download=False)
    assert s.sizes["test"] == 10


def _cached(tmp_path):
    (path,) = (tmp_path / "cache").glob("catcar-*.pt")
    return path


@pytest.mark.parametrize(
    "damage",
    ["small images", "one label", "other keys", "other source"],
)
def test_cache_with_wrong_content_is_rebuilt(cifar_root, tmp_path, damage):
    good = splits_quietly(cifar_root)
    path = _cached(tmp_path)
    small = torch.load(path, weights_only=True)
    if damage == "small images":
        small["x_train"] = small["x_train"][:, :, :8, :8].contiguous()
    elif damage == "one label":
        small["y_train"] = torch.zeros_like(small["y_train"])
    elif damage == "other keys":
        small = {"images": small["x_train"]}
    else:
        small["checksum"] = "0" * 16
    torch.save(small, path)
    with pytest.warns(UserWarning, match="corrupt"):
        again = data.cat_car_splits(cifar_root, download=False)
    assert torch.equal(good.train.tensors[0], again.train.tensors[0])
    assert torch.equal(good.train.tensors[1], again.train.tensors[1])


# ------------------------------------------------ data that cannot answer


BATCHES = "cifar-10-batches-py"


@pytest.mark.parametrize(
    ("files", "split"),
    [
        (["test_batch"], "the test split has no 'car' images"),
        (
            [f"data_batch_{i}" for i in range(1, 6)],
            "the training and validation splits have no 'car' images",
        ),
    ],
)
def test_a_copy_without_automobiles_is_refused(cifar_root, files, split):
    for name in files:
        relabel(cifar_root / BATCHES / name, 1, 0)  # automobile -> airplane
    with pytest.raises(data.DataError, match=split) as err:
        splits_quietly(cifar_root, val_fraction=0.2)
    assert "lacks automobile images" in str(err.value)
    assert str(cifar_root) in str(err.value)


def test_a_validation_split_without_a_class_is_refused(cifar_root):
    # 20 cats; 2 cars of 20 left: a fifth of 2 rounds to no car.
    batch = cifar_root / BATCHES / "data_batch_5"
    for name in [f"data_batch_{i}" for i in range(1, 5)]:
        relabel(cifar_root / BATCHES / name, 1, 0)
    with open(batch, "rb") as f:
        obj = pickle.load(f)
    cars = [i for i, y in enumerate(obj["labels"]) if y == 1]
    for i in cars[2:]:
        obj["labels"][i] = 0
    with open(batch, "wb") as f:
        pickle.dump(obj, f, protocol=2)
    with pytest.raises(
        data.DataError, match="the validation split has no 'car' images"
    ):
        splits_quietly(cifar_root, val_fraction=0.2)


@pytest.mark.parametrize("name", ["data_batch", "test_batch"])
def test_constant_images_are_refused_not_nan(tmp_path, monkeypatch, name):
    root = write_synthetic_cifar10(tmp_path / "c", 20, 5)
    monkeypatch.setenv("BYHAND_CACHE", str(tmp_path / "cache"))
    for f in (root / BATCHES).glob(f"{name}*"):
        with open(f, "rb") as fh:
            obj = pickle.load(fh)
        obj["data"][:] = 128  # every pixel of every image: std 0
        with open(f, "wb") as fh:
            pickle.dump(obj, fh, protocol=2)
    split = "training" if name == "data_batch" else "test"
    with pytest.raises(
        data.DataError, match=f"the {split} split is constant in channel"
    ):
        splits_quietly(root, val_fraction=0.2)


def test_no_nan_reaches_training(cifar_root, monkeypatch):
    real = torch.Tensor.std

    def nan_std(x, *a, **k):  # a standardization gone wrong
        return real(x, *a, **k) * float("nan")

    s = splits_quietly(cifar_root, val_fraction=0.2)  # fills the cache
    assert all(torch.isfinite(d.tensors[0]).all() for d in (s.train, s.test))
    monkeypatch.setattr(torch.Tensor, "std", nan_std)
    with pytest.raises(data.DataError, match="NaN or infinite"):
        splits_quietly(cifar_root, val_fraction=0.2)

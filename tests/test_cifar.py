"""byhand.cifar: locating, downloading and validating CIFAR-10."""

import os
import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from synthetic import write_synthetic_cifar10
from torchvision import datasets

from byhand import cifar, data

pytestmark = pytest.mark.task1


def test_warns_once_for_unofficial_checksums(cifar_root):
    with pytest.warns(UserWarning, match=str(cifar_root)):
        data.cat_car_splits(cifar_root, download=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data.cat_car_splits(cifar_root, download=False)


def test_no_data_error_names_both_fixes(tmp_path, monkeypatch):
    def offline(root):
        raise OSError("no network")

    monkeypatch.setattr(cifar, "_download", offline)
    with pytest.raises(cifar.DataError) as err:
        data.cat_car_splits(tmp_path / "nothing")
    msg = str(err.value)
    assert "CIFAR10_ROOT" in msg and "connect to the internet" in msg
    assert not (tmp_path / "nothing" / cifar.FOLDER).exists()


def test_missing_file_error(cifar_root):
    (cifar_root / cifar.FOLDER / "data_batch_3").unlink()
    with pytest.raises(cifar.DataError, match="data_batch_3 not found"):
        data.cat_car_splits(cifar_root, download=False)


def _rewrite(root, name, obj):
    with open(root / cifar.FOLDER / name, "wb") as f:
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
    with pytest.raises(cifar.DataError, match=why) as err:
        cifar.load_cifar10(cifar_root, download=False)
    assert "data_batch_2" in str(err.value)


def test_truncated_batch_is_rejected(cifar_root):
    path = cifar_root / cifar.FOLDER / "test_batch"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(cifar.DataError, match="test_batch"):
        cifar.load_cifar10(cifar_root, download=False)


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_malicious_pickle_is_refused(cifar_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _rewrite(cifar_root, "data_batch_1", {"data": Exploit(), "labels": []})
    with pytest.raises(cifar.DataError, match="refusing to load") as err:
        cifar.load_cifar10(cifar_root, download=False)
    assert "data_batch_1" in str(err.value)
    assert not (tmp_path / "PWNED").exists()


def test_root_from_environment(cifar_root, monkeypatch):
    monkeypatch.setenv("CIFAR10_ROOT", str(cifar_root))
    assert cifar.resolve_root() == cifar_root
    assert cifar.resolve_root("/elsewhere") == Path("/elsewhere")


class FakeTorchvisionCIFAR10:
    """Stands in for torchvision's download: writes a synthetic copy."""

    fail = False

    def __init__(self, root, train, download):
        assert download
        write_synthetic_cifar10(root, 10, 2)
        if self.fail:
            raise OSError("connection reset halfway")


def test_download_lands_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "CIFAR10", FakeTorchvisionCIFAR10)
    monkeypatch.setenv("BYHAND_CACHE", str(tmp_path / "cache"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = data.cat_car_splits(tmp_path / "root", val_fraction=0.2)
    assert s.sizes["test"] == 4
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == [
        cifar.FOLDER
    ]


def test_failed_download_leaves_nothing_half_written(tmp_path, monkeypatch):
    monkeypatch.setattr(FakeTorchvisionCIFAR10, "fail", True)
    monkeypatch.setattr(datasets, "CIFAR10", FakeTorchvisionCIFAR10)
    with pytest.raises(cifar.DataError, match="connection reset halfway"):
        data.cat_car_splits(tmp_path / "root")
    assert list((tmp_path / "root").iterdir()) == []


def test_root_at_the_batches_folder_itself_says_use_the_parent(cifar_root):
    with pytest.raises(cifar.DataError, match="point CIFAR10_ROOT") as err:
        cifar.load_cifar10(cifar_root / cifar.FOLDER, download=False)
    assert str(cifar_root) in str(err.value)


def test_a_renamed_batches_folder_is_known_by_its_files(
    cifar_root, tmp_path, monkeypatch
):
    # Pointed at a copy of the batches folder under another name: say so,
    # and download nothing into it.
    copy = tmp_path / "my-cifar"
    shutil.copytree(cifar_root / cifar.FOLDER, copy)
    monkeypatch.setattr(
        cifar, "_download", lambda root: pytest.fail("downloaded")
    )
    with pytest.raises(cifar.DataError, match="folder itself") as err:
        cifar.locate(copy)
    assert str(tmp_path) in str(err.value)


@pytest.mark.parametrize("which", ["root", "batches folder"])
def test_a_file_where_the_data_folder_is_meant(tmp_path, which):
    root = tmp_path / "cifar"
    if which == "root":
        root.write_text("not a folder")
    else:
        root.mkdir()
        (root / cifar.FOLDER).write_text("not a folder")
    with pytest.raises(cifar.DataError, match="is a file, not a folder"):
        cifar.locate(root, download=False)


def test_batch_bytes_are_red_then_green_then_blue_row_major(tmp_path):
    # CIFAR-10 stores each image as 1024 red bytes, then 1024 green, then
    # 1024 blue, each plane row by row.  Two hand-made images: image 0
    # has red = its column, green = its row, blue = 200 everywhere;
    # image 1 is image 0 with the channels rotated.
    rows, cols = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
    red = cols.astype(np.uint8).ravel()  # byte r * 32 + c holds c
    green = rows.astype(np.uint8).ravel()
    blue = np.full(1024, 200, dtype=np.uint8)
    batch = {
        "data": np.stack(
            [
                np.concatenate([red, green, blue]),
                np.concatenate([blue, red, green]),
            ]
        ),
        "labels": [3, 1],
    }
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(batch, protocol=2))
    images, labels = cifar.load_batch(path)
    assert images.shape == (2, 3, 32, 32) and labels.tolist() == [3, 1]
    first = images[0].numpy()
    for r, c in [(0, 0), (0, 31), (5, 17), (31, 2), (31, 31)]:
        assert first[:, r, c].tolist() == [c, r, 200], (r, c)
    assert images[1, 0].eq(200).all()
    assert images[1, 1, 7, 9] == 9 and images[1, 2, 7, 9] == 7


@pytest.mark.task1
def test_official_checksums_are_torchvisions():
    from torchvision.datasets import CIFAR10

    theirs = dict(CIFAR10.train_list + CIFAR10.test_list)
    theirs[CIFAR10.meta["filename"]] = CIFAR10.meta["md5"]
    assert theirs == cifar.OFFICIAL_MD5


def test_reading_cifar10_does_not_import_torchvision():
    """torchvision costs 1.7 s a process: only a download or a cold
    cache (resizing) import it."""
    import subprocess
    import sys

    code = (
        "import sys, byhand.data, byhand.gradcheck, byhand.search.run, "
        "byhand.report.figures; "
        "sys.exit('torchvision' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False)
    assert done.returncode == 0


def test_other_class_names_are_refused(cifar_root):
    from byhand.gradcheck import grayscale_crops

    meta = cifar_root / cifar.FOLDER / cifar.META_FILE
    names = [*cifar.CIFAR_CLASSES[1:], cifar.CIFAR_CLASSES[0]]
    meta.write_bytes(pickle.dumps({"label_names": names}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unofficial checksums
        with pytest.raises(cifar.DataError, match="not CIFAR-10's"):
            cifar.load_cifar10(cifar_root, download=False)
        with pytest.raises(cifar.DataError, match="not CIFAR-10's"):
            grayscale_crops(n=2, root=cifar_root, download=False)

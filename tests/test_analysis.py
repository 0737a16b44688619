"""byhand.report.analysis: the data tables of task 1."""

import warnings

import pytest

from byhand.report.analysis import (
    describe_images,
    extreme_and_duplicate_images,
    split_class_counts,
)

pytestmark = pytest.mark.task1


def test_analysis_tables(tiny_splits):
    s = tiny_splits
    counts = split_class_counts(s)
    assert counts.loc["total", "train"] == 32
    assert counts.loc["car", "val %"] == 50.0
    desc = describe_images(s)
    assert desc.loc["train", "shape"] == "3x16x16"
    assert desc.loc["test", "NaN"] == 0
    extremes = extreme_and_duplicate_images(s)
    assert (extremes["also in another split"] == 0).all()


def test_duplicates_across_and_within_splits_are_found(tiny_splits):
    s = tiny_splits
    assert (extreme_and_duplicate_images(s).to_numpy() == 0).all()
    # Plant one training image in the test split and one twice in val.
    s.images["test"][3] = s.images["train"][5]
    s.images["val"][1] = s.images["val"][0]
    found = extreme_and_duplicate_images(s)
    assert found.loc["test", "also in another split"] == 1
    assert found.loc["train", "also in another split"] == 1
    assert found.loc["val", "duplicates within"] == 1
    assert found.loc["val", "also in another split"] == 0


def test_constant_images_are_found(tiny_splits):
    s = tiny_splits
    s.images["train"][0] = 0
    s.images["train"][1] = 255
    s.images["train"][2] = 77
    s.images["train"][3] = 0  # one white pixel: neither black nor white
    s.images["train"][3, 0, 0, 0] = 255
    found = extreme_and_duplicate_images(s)
    assert found.loc["train", "all black"] == 1
    assert found.loc["train", "all white"] == 1
    assert found.loc["train", "constant"] == 3


def test_describe_images_reads_the_pixels(tiny_splits):
    s = tiny_splits
    s.images["val"][:] = 51  # every pixel 51/255 = 0.2
    s.images["val"][:, 2] = 102  # blue 0.4
    d = describe_images(s)
    assert d.loc["val", "mean R"] == pytest.approx(0.2)
    assert d.loc["val", "mean B"] == pytest.approx(0.4)
    assert d.loc["val", "std G"] == 0.0
    assert (d.loc["val", "min (uint8)"], d.loc["val", "max (uint8)"]) == (
        51,
        102,
    )


def test_official_class_counts(cifar_root):
    from byhand.cifar import load_cifar10
    from byhand.report.analysis import cifar_class_counts

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = load_cifar10(cifar_root, download=False)
    counts = cifar_class_counts(raw)
    assert counts["train"].tolist() == [20] * 10
    assert counts.loc["cat", "test"] == 5

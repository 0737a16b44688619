"""byhand.analysis: the data tables of task 1."""

import warnings

from byhand import data
from byhand.analysis import (
    describe_images,
    extreme_and_duplicate_images,
    split_class_counts,
)


def splits_quietly(root, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return data.cat_car_splits(root, download=False, **kw)


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

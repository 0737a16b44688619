"""byhand.data.with_shifts: the shift protocol on known pixels."""

import torch
from torch.utils.data import TensorDataset

from byhand import data


def test_shifts_on_known_pixels():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float64).reshape(2, 3, 4, 4)
    y = torch.tensor([0, 1])
    out = data.with_shifts(TensorDataset(x, y))
    xs, ys = out.tensors
    assert xs.shape == (20, 3, 4, 4)
    assert ys.tolist() == [0] * 10 + [1] * 10
    img = x[1]
    assert torch.equal(xs[10], img)
    up = xs[11]  # content moved up one row: row r shows row r+1
    assert torch.equal(up[:, :3], img[:, 1:]) and (up[:, 3] == 0).all()
    down = xs[12]
    assert torch.equal(down[:, 1:], img[:, :3]) and (down[:, 0] == 0).all()
    left = xs[13]
    assert (
        torch.equal(left[..., :3], img[..., 1:]) and (left[..., 3] == 0).all()
    )
    right = xs[14]
    assert (
        torch.equal(right[..., 1:], img[..., :3])
        and (right[..., 0] == 0).all()
    )
    assert torch.equal(xs[15], img.flip(-1))
    assert torch.equal(xs[16][:, :3], img.flip(-1)[:, 1:])

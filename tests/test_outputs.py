"""byhand.search.outputs: output paths checked first, written safely."""

import os
import shutil
import socket
import stat

import pytest

from byhand.search import outputs


def test_a_device_is_written_through_never_replaced():
    device = outputs.check_file("/dev/null", "--log")
    assert device is not None
    with device:
        outputs.write_file("/dev/null", "a log\n", device)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_regular_file_is_replaced_whole(tmp_path):
    path = tmp_path / "new" / "log.txt"  # its folder is made
    assert outputs.check_file(path, "--log") is None
    outputs.write_file(path, "a log\n")
    assert path.read_text() == "a log\n"
    assert [p.name for p in path.parent.iterdir()] == ["log.txt"]


def test_a_symlink_stays_and_its_target_is_written(tmp_path):
    target, link = tmp_path / "target", tmp_path / "link"
    target.write_text("old")
    link.symlink_to(target)
    assert outputs.check_file(link, "--log") is None
    outputs.write_file(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        with pytest.raises(outputs.OutputPathError, match="not a regular"):
            outputs.check_file(path, "--log")


@pytest.mark.parametrize("where", ["file", "under a file", "broken link"])
def test_a_folder_that_cannot_be_one_is_refused(tmp_path, where):
    blocker = tmp_path / "x"
    if where == "broken link":
        blocker.symlink_to(tmp_path / "nowhere")
    else:
        blocker.write_text("")
    folder = blocker if where == "file" else blocker / "results"
    with pytest.raises(outputs.OutputPathError, match="--results"):
        outputs.check_folder(folder, "--results")


def test_a_folder_can_be_checked_for_reading_only(tmp_path, monkeypatch):
    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outputs.tempfile, "NamedTemporaryFile", denied)
    outputs.check_folder(tmp_path, "--results", write=False)
    with pytest.raises(outputs.OutputPathError, match="Permission denied"):
        outputs.check_folder(tmp_path, "--results")


def test_a_folder_on_a_full_disk_is_refused(tmp_path, monkeypatch):
    usage = shutil.disk_usage(tmp_path)
    short = usage._replace(free=outputs.MIN_FREE - 1)
    monkeypatch.setattr(outputs.shutil, "disk_usage", lambda p: short)
    with pytest.raises(outputs.OutputPathError, match="KiB free"):
        outputs.check_folder(tmp_path, "--results")
    enough = usage._replace(free=outputs.MIN_FREE)
    monkeypatch.setattr(outputs.shutil, "disk_usage", lambda p: enough)
    outputs.check_folder(tmp_path, "--results")

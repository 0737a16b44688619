"""The hand-in: exactly the deliverables, the package and a README."""

import zipfile
from pathlib import Path

import pytest

from byhand.render import handin

PACKAGE = {
    "src/byhand/__init__.py": '"""byhand"""\n',
    "src/byhand/network.py": "class MyNet: ...\n",
    "src/byhand/search/__init__.py": "",
}
CLUTTER = (
    "src/byhand/__pycache__/network.cpython-311.pyc",
    "src/byhand/search/__pycache__/__init__.cpython-311.pyc",
    "src/byhand.egg-info/PKG-INFO",
    "results/search-0/runs.csv",
    "data/cache/catcar.pt",
    ".venv/bin/python",
    "_output/chapters/backpropagation.out.ipynb",
)
WANT = sorted(
    [
        "README.txt",
        "backpropagation.ipynb",
        "gradient_descent.ipynb",
        "pyproject.toml",
        "report.pdf",
        "requirements.lock",
        *PACKAGE,
    ]
)


@pytest.fixture
def project(tmp_path):
    """A fake project after a render, with caches, results and a venv."""
    root = tmp_path / "project"
    for rel, text in PACKAGE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for rel in CLUTTER:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"\0")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "byhand"\nreadme = "README.md"\n'
    )
    (root / "requirements.lock").write_text("torch==2.14.1\n")
    out = root / "_output"
    (out / "report.pdf").write_bytes(b"%PDF-1.5 the report")
    for name in ("backpropagation", "gradient_descent"):
        (out / f"{name}.ipynb").write_text(f'{{"cells": "{name}"}}')
    return root


def listing(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file()
    )


def test_hand_in_holds_exactly_what_it_should(project):
    out = project / "_output"
    archive = handin.build(out, project)
    assert archive == out / "hand-in.zip"
    assert listing(out / "hand-in") == WANT
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == WANT
        assert z.read("report.pdf") == (out / "report.pdf").read_bytes()
        assert z.read("src/byhand/network.py") == b"class MyNet: ...\n"
    assert handin.expected_files(project) == WANT
    assert handin.check_handin(out, project) == []
    # Nothing else is left behind in the output folder.
    assert sorted(p.name for p in out.iterdir()) == [
        "backpropagation.ipynb",
        "chapters",
        "gradient_descent.ipynb",
        "hand-in",
        "hand-in.zip",
        "report.pdf",
    ]


def test_readme_names_every_additional_file_and_the_commands(project):
    handin.build(project / "_output", project)
    folder = project / "_output" / "hand-in"
    readme = (folder / "README.txt").read_text()
    for name in ("src/byhand/", "pyproject.toml", "requirements.lock"):
        assert name in readme
    assert "scripts/render.sh" in readme and "scripts/test.sh" in readme
    # pip reads the readme named in pyproject.toml: it must be there.
    assert 'readme = "README.txt"' in (folder / "pyproject.toml").read_text()


def test_a_second_build_replaces_the_first_whole(project):
    out = project / "_output"
    handin.build(out, project)
    (out / "hand-in" / "stale.txt").write_text("from an earlier render")
    (project / "src" / "byhand" / "network.py").unlink()
    handin.build(out, project)
    assert "stale.txt" not in listing(out / "hand-in")
    assert "src/byhand/network.py" not in listing(out / "hand-in")
    assert handin.check_handin(out, project) == []
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_failed_build_leaves_the_last_hand_in(project):
    out = project / "_output"
    handin.build(out, project)
    before = (out / "hand-in.zip").read_bytes()
    (out / "gradient_descent.ipynb").unlink()
    with pytest.raises(FileNotFoundError, match=r"gradient_descent\.ipynb"):
        handin.build(out, project)
    assert (out / "hand-in.zip").read_bytes() == before
    assert listing(out / "hand-in") == WANT
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_check_finds_a_zip_left_from_an_earlier_build(project):
    # The folder was rebuilt after a new render, the zip's write failed:
    # the zip still holds the older report.
    out = project / "_output"
    handin.build(out, project)
    old_zip = (out / "hand-in.zip").read_bytes()
    (out / "report.pdf").write_bytes(b"%PDF-1.5 the new report")
    handin.build(out, project)
    assert handin.check_handin(out, project) == []
    (out / "hand-in.zip").write_bytes(old_zip)
    assert handin.check_handin(out, project) == [
        "hand-in.zip: report.pdf differs from report.pdf"
    ]


def test_check_lists_every_problem(project):
    out = project / "_output"
    assert handin.check_handin(out, project) == [
        "hand-in/ is missing",
        "hand-in.zip is missing",
    ]
    handin.build(out, project)
    (out / "hand-in" / "results.csv").write_text("a result")
    (out / "hand-in" / "README.txt").unlink()
    (out / "report.pdf").write_bytes(b"%PDF-1.5 rendered again")
    with zipfile.ZipFile(out / "hand-in.zip", "a") as z:
        z.writestr("src/byhand/__pycache__/x.pyc", b"\0")
    assert handin.check_handin(out, project) == [
        "hand-in/ holds an unexpected results.csv",
        "hand-in/ lacks README.txt",
        "hand-in/report.pdf differs from report.pdf",
        "hand-in.zip: report.pdf differs from report.pdf",
        "hand-in.zip holds an unexpected src/byhand/__pycache__/x.pyc",
    ]


def test_check_refuses_a_broken_zip(project):
    out = project / "_output"
    handin.build(out, project)
    (out / "hand-in.zip").write_bytes(b"not a zip")
    problems = handin.check_handin(out, project)
    assert problems == [
        "hand-in.zip is not a zip file (File is not a zip file)"
    ]


def test_check_finds_a_corrupt_member(project):
    out = project / "_output"
    handin.build(out, project)
    archive = out / "hand-in.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        for name in WANT:
            z.writestr(name, f"content of {name}")
    data = archive.read_bytes()
    spot = data.index(b"content of report.pdf")
    archive.write_bytes(data[:spot] + b"C" + data[spot + 1 :])
    assert handin.check_handin(out, project) == [
        "hand-in.zip: report.pdf is corrupt"
    ]

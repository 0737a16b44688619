"""The hand-in: what a student uploads, as a folder and as a zip.

The three deliverables (report.pdf and the two executed notebooks), the
package's source they import with what reinstalls it, and the
README.txt the assignment asks for to say why those are there; no
results, data or caches.  `build` writes each whole or not at all,
`check_handin` lists what is wrong with them.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

from byhand._io import atomic_dir, atomic_write
from byhand.render import NOTEBOOKS

FOLDER = "hand-in"
# The deliverables, copied from the render's output folder.
DELIVERABLES = ("report.pdf", *(f"{n}.ipynb" for n in NOTEBOOKS))
# What reinstalls the package, copied from the project folder.
INSTALL = ("pyproject.toml", "requirements.lock")
PACKAGE = Path("src") / "byhand"

README = """\
INF265 project 1: backpropagation and gradient descent by hand
==============================================================

The three deliverables
  report.pdf               the report (section 4)
  backpropagation.ipynb    section 2, executed, outputs visible
  gradient_descent.ipynb   section 3, executed, outputs visible

The additional files (why they are here)
  src/byhand/              the Python package "byhand" that both
                           notebooks import: every function they call and
                           whose source they show (backpropagation,
                           MyMLP, train, train_manual_update, the search,
                           the tables and figures)
  pyproject.toml           describes the package, so that pip can
                           install it (pip install -e .)
  requirements.lock        the exact versions of every library used
                           (torch, torchvision, pandas, ...)
  README.txt               this file

Re-running the notebooks (Python 3.11, 3.12 or 3.13), in this folder:

  python3 -m venv .venv
  .venv/bin/python -m pip install -r requirements.lock
  .venv/bin/python -m pip install --no-deps -e .
  .venv/bin/jupyter execute --inplace backpropagation.ipynb
  .venv/bin/jupyter execute --inplace gradient_descent.ipynb

gradient_descent.ipynb downloads CIFAR-10 into data/ (or reads a copy:
CIFAR10_ROOT=/path/to/root, the folder holding cifar-10-batches-py/)
and runs the search once (about 4 minutes on 2 CPU cores), saving its
results under results/; a second run reads them back.

Re-running everything (the experiment, this report, both notebooks and
the tests) takes the project's two commands, run in the project's
folder (its sources: report.qmd, chapters/, scripts/, tests/):

  scripts/render.sh   # set up, run the experiment, render and check
                      # report.pdf and the notebooks, build this hand-in
  scripts/test.sh     # set up, lint and run the tests
"""


def _files(folder: Path) -> list[Path]:
    """Every file under ``folder``, relative to it, sorted."""
    return sorted(
        p.relative_to(folder) for p in folder.rglob("*") if p.is_file()
    )


def _package_files(project: Path) -> list[Path]:
    """The package's source files, relative to the project (no caches)."""
    root = project / PACKAGE
    if not root.is_dir():
        raise FileNotFoundError(f"no package source in {root}")
    return [
        PACKAGE / p
        for p in _files(root)
        if "__pycache__" not in p.parts and p.suffix != ".pyc"
    ]


def expected_files(project: Path) -> list[str]:
    """Every file the hand-in holds, as POSIX paths, sorted."""
    files = [*DELIVERABLES, *INSTALL, "README.txt"]
    files += [p.as_posix() for p in _package_files(project)]
    return sorted(files)


def _fill(folder: Path, output: Path, project: Path) -> None:
    missing = [n for n in DELIVERABLES if not (output / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"hand-in: {', '.join(missing)} not in {output}; render first "
            "(quarto render)"
        )
    for name in DELIVERABLES:
        shutil.copy2(output / name, folder / name)
    # pip reads the readme that pyproject.toml names: ours is README.txt
    pyproject = (project / "pyproject.toml").read_text()
    pyproject = re.sub(
        r'^readme = "[^"]*"$', 'readme = "README.txt"', pyproject, flags=re.M
    )
    (folder / "pyproject.toml").write_text(pyproject)
    shutil.copy2(project / "requirements.lock", folder / "requirements.lock")
    (folder / "README.txt").write_text(README)
    for rel in _package_files(project):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project / rel, folder / rel)


def _zip(folder: Path, dest: Path) -> None:
    """Every file of ``folder`` at the zip's root, in a stable order."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for rel in _files(folder):
            z.write(folder / rel, rel.as_posix())


def build(output: Path, project: Path) -> Path:
    """Write ``<output>/hand-in/`` and ``<output>/hand-in.zip``."""
    folder = output / FOLDER
    atomic_dir(folder, lambda tmp: _fill(tmp, output, project))
    atomic_write(output / f"{FOLDER}.zip", lambda tmp: _zip(folder, tmp))
    return output / f"{FOLDER}.zip"


def _differences(where: str, have: list[str], want: list[str]) -> list[str]:
    extra = sorted(set(have) - set(want))
    problems = [f"{where} holds an unexpected {name}" for name in extra]
    missing = sorted(set(want) - set(have))
    return problems + [f"{where} lacks {name}" for name in missing]


def _differing(output: Path, copies: dict[str, bytes]) -> list[str]:
    """The deliverables whose copy (by name) differs from ``output``'s."""
    return [
        name
        for name, data in copies.items()
        if (output / name).is_file() and data != (output / name).read_bytes()
    ]


def stale(output: Path) -> list[str]:
    """The deliverables whose copy in the hand-in differs from
    ``output``'s (a render since the hand-in was built)."""
    folder = output / FOLDER
    return _differing(
        output,
        {
            n: (folder / n).read_bytes()
            for n in DELIVERABLES
            if (folder / n).is_file()
        },
    )


def check_handin(output: Path, project: Path) -> list[str]:
    """What is wrong with the hand-in folder and zip (empty: nothing)."""
    folder, archive = output / FOLDER, output / f"{FOLDER}.zip"
    want = expected_files(project)
    problems = []
    if not folder.is_dir():
        problems.append(f"{FOLDER}/ is missing")
    else:
        have = [p.as_posix() for p in _files(folder)]
        problems += _differences(f"{FOLDER}/", have, want)
        problems += [
            f"{FOLDER}/{name} differs from {name}" for name in stale(output)
        ]
    if not archive.is_file():
        return [*problems, f"{FOLDER}.zip is missing"]
    try:
        with zipfile.ZipFile(archive) as z:
            names = [n for n in z.namelist() if not n.endswith("/")]
            bad = z.testzip()
            old = []
            if bad is None:  # a corrupt member cannot be read
                copies = {n: z.read(n) for n in DELIVERABLES if n in names}
                old = _differing(output, copies)
    except zipfile.BadZipFile as err:
        return [*problems, f"{FOLDER}.zip is not a zip file ({err})"]
    if bad is not None:
        problems.append(f"{FOLDER}.zip: {bad} is corrupt")
    problems += [f"{FOLDER}.zip: {name} differs from {name}" for name in old]
    return problems + _differences(f"{FOLDER}.zip", names, want)

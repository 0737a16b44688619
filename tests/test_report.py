"""report.qmd: its module table is the package's, the modules it names
exist, and every inline value prints as Quarto will show it."""

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

from byhand.report.listing import module_table

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "byhand"
REPORT = ROOT / "report.qmd"
# `{python} expr`: an inline value as Quarto 1.10 finds it (a space or a
# tab after {python}), on one line (Quarto resolves them line by line).
INLINE = re.compile(r"(?<!`)`\{python\}[ \t]([^`\n]+)`")


def test_the_module_table_lists_every_module_of_the_package():
    expected = {
        p.relative_to(PACKAGE).with_suffix("").as_posix()
        for p in PACKAGE.rglob("*.py")
        if p.stem != "__main__" and p != PACKAGE / "__init__.py"
    }
    expected = {
        m.removesuffix("/__init__").replace("/", ".") for m in expected
    }
    table = module_table()
    assert set(table.index) == expected
    assert table.index.is_unique
    assert table["what it holds"].str.len().min() > 10
    # the core first, then each subpackage right before its modules
    names = list(table.index)
    assert names.index("network") < names.index("search")
    for sub in ("search", "report", "render"):
        mods = [i for i, n in enumerate(names) if n.startswith(f"{sub}.")]
        assert names.index(sub) == min(mods) - 1, sub


def test_the_module_table_says_what_each_module_holds():
    table = module_table()
    assert table.loc["backprop", "what it holds"].startswith(
        "The hand-written backward pass of section 2"
    )
    # RST markup is dropped: the table is plain text
    assert not table["what it holds"].str.contains("`").any()


def test_the_module_table_of_a_package_and_a_module_without_docstring(
    tmp_path,
):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""The package."""')
    (pkg / "_private.py").write_text('"""Private\nhelpers.\n\nMore."""')
    (pkg / "zeta.py").write_text('"""Uses ``zeta``."""')
    (pkg / "sub" / "__init__.py").write_text('"""A subpackage."""')
    (pkg / "sub" / "alpha.py").write_text('"""Alpha."""')
    (pkg / "sub" / "__main__.py").write_text("")
    table = module_table(pkg)
    assert table["what it holds"].to_dict() == {
        "zeta": "Uses zeta.",
        "_private": "Private helpers.",
        "sub": "A subpackage.",
        "sub.alpha": "Alpha.",
    }
    (pkg / "sub" / "beta.py").write_text("x = 1\n")
    with pytest.raises(ValueError, match=r"beta\.py has no docstring"):
        module_table(pkg)


def test_the_report_shows_the_table_built_from_the_package():
    text = REPORT.read_text()
    cell = re.search(r"#\| label: tbl-modules\n(?:#\|.*\n)*(.*)\n", text)
    assert cell and cell.group(1).startswith("rows = module_table()")
    assert "@tbl-modules" in text


def test_the_report_names_only_modules_that_exist():
    named = set(re.findall(r"\bbyhand(?:\.\w+)+", REPORT.read_text()))
    assert named  # the division of labour names modules
    missing = [m for m in named if importlib.util.find_spec(m) is None]
    assert not missing, (
        f"report.qmd names modules that do not exist: {missing}"
    )


def _inline_values_cell(exprs: list[str]) -> nbformat.NotebookNode:
    """A last cell that evaluates every inline expression and fails on a
    value Quarto would not print as plain text: only str and int are
    exact (a float or a numpy number prints as its repr, with all its
    digits or as ``np.float64(...)``), and a str whose repr has a
    backslash escape is shown with the backslash."""
    return nbformat.v4.new_code_cell(
        f"_exprs = {exprs!r}\n"
        "_bad = {}\n"
        "for _e in _exprs:\n"
        "    try:\n"
        "        _v = eval(_e)\n"
        "    except Exception as err:\n"
        "        _bad[_e] = repr(err)\n"
        "        continue\n"
        "    if type(_v) not in (str, int) or '\\\\' in repr(_v):\n"
        "        _bad[_e] = repr(_v)\n"
        "assert not _bad, _bad\n"
    )


def inline_values_cell() -> nbformat.NotebookNode:
    """The check cell that tests/test_chapters.py appends to its run of
    report.qmd (one execution of the report for both tests)."""
    text = REPORT.read_text()
    exprs = INLINE.findall(text)
    # every inline value matched (none broken over two lines)
    starts = re.findall(r"(?<!`)`\{python\}", text)  # not ```{python}
    assert len(exprs) == len(starts) > 20
    return _inline_values_cell(exprs)


def test_the_inline_check_fails_on_a_float():
    cell = _inline_values_cell(["1.5", "'ok'", "3"])
    namespace: dict = {}
    with pytest.raises(AssertionError, match=r"1\.5"):
        exec(cell.source, namespace)
    exec(_inline_values_cell(["'ok'", "3"]).source, {})

"""The layout the README promises: the assignment's core at the top of
the package, the machinery in subpackages, one test file per module,
the public imports, no oversized module."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "byhand"
MODULES = sorted(
    p.relative_to(PACKAGE).with_suffix("").as_posix()
    for p in PACKAGE.rglob("*.py")
    if p.stem not in ("__init__", "__main__")
)
SUBPACKAGES = ("search", "report", "render")
# Modules whose tests live in a file named after what they serve.
TESTED_IN = {"render/pre": "chapters", "render/notebooks": "chapters"}


def test_the_core_is_at_the_top_and_the_rest_in_subpackages():
    top = {m for m in MODULES if "/" not in m}
    core = {"network", "activations", "backprop", "gradcheck", "training"}
    assert core | {"data", "cifar"} <= top
    assert {m.split("/")[0] for m in MODULES if "/" in m} == set(SUBPACKAGES)


def test_every_subpackage_says_what_lives_there():
    for name in SUBPACKAGES:
        doc = (PACKAGE / name / "__init__.py").read_text()
        assert doc.startswith('"""'), name


def test_every_module_has_a_test_file():
    missing = [
        m
        for m in MODULES
        if not (
            ROOT
            / "tests"
            / f"test_{TESTED_IN.get(m, m.split('/')[-1]).lstrip('_')}.py"
        ).exists()
    ]
    assert not missing


def test_the_readme_lists_every_top_module_and_subpackage():
    readme = (ROOT / "README.md").read_text()
    listed = set(re.findall(r"src/byhand/(\w+)", readme))
    tops = {m for m in MODULES if "/" not in m} | set(SUBPACKAGES)
    assert tops <= listed, tops - listed


def test_the_public_imports():
    from byhand import (  # noqa: F401
        MyMLP,
        MyNet,
        backpropagation,
        cat_car_splits,
        run_search,
        train,
        train_manual_update,
    )


def test_no_module_is_oversized():
    # About 300 lines is the bound; a module above it must say why in
    # its docstring ("Long because ...").
    for m in MODULES:
        text = (PACKAGE / f"{m}.py").read_text()
        if len(text.splitlines()) > 320:
            assert "Long because" in text, m


def test_benchmark_scripts_import():
    # They are not run by the tests; at least what they import exists.
    import importlib.util

    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))

"""The layout the README promises: one test file per module, every module
in the README's table, the public imports, no oversized module."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    p.stem
    for p in (ROOT / "src" / "byhand").glob("*.py")
    if p.stem != "__init__"
)


def test_every_module_has_a_test_file():
    missing = [
        m
        for m in MODULES
        if not (ROOT / "tests" / f"test_{m.lstrip('_')}.py").exists()
    ]
    assert not missing


def test_the_readme_lists_every_module():
    readme = (ROOT / "README.md").read_text()
    listed = set(re.findall(r"(\w+)\.py`", readme))
    assert set(MODULES) <= listed, set(MODULES) - listed


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
        text = (ROOT / "src" / "byhand" / f"{m}.py").read_text()
        if len(text.splitlines()) > 320:
            assert "Long because" in text, m

"""The experiment of tasks 8-10: train many configurations, select one,
evaluate it once on the test set (``python -m byhand.search``).

``run_search`` and ``select`` are imported on first use, so that
``byhand.training`` can import ``logformat`` without the whole search.
"""

import importlib
from typing import TYPE_CHECKING, Any

from byhand.search.configs import (
    COURSE_SETTINGS,
    PROFILES,
    TINY,
    ProfileError,
    SearchConfig,
    config_from_env,
)

if TYPE_CHECKING:  # at run time: on first use (see __getattr__)
    from byhand.search.run import run_search
    from byhand.search.selection import select

__all__ = [
    "COURSE_SETTINGS",
    "PROFILES",
    "TINY",
    "ProfileError",
    "SearchConfig",
    "config_from_env",
    "run_search",
    "select",
]

_HOME = {
    "run_search": "byhand.search.run",
    "select": "byhand.search.selection",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value

"""The experiment of tasks 8-10: train many configurations, select one,
evaluate it once on the test set.

``configs`` says what a search trains, ``jobs`` runs its training jobs,
``pair`` trains one configuration with SGD and by hand and compares them
bit for bit, ``run`` is the search itself, ``selection`` the rule of
task 9, ``evaluation`` task 10's metrics, ``results`` the saved folder,
``logformat`` the course's log, ``cli`` the command line
(``python -m byhand.search``) and ``outputs`` its output paths.

``run_search`` and ``select`` are imported on first use: a module that
needs only ``logformat`` (``byhand.training``) does not import the whole
search, which imports ``byhand.training`` back.
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
        raise AttributeError(
            f"module 'byhand.search' has no attribute {name!r}"
        )
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value

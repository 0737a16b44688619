"""The experiment of tasks 8-10: train many configurations, select one,
evaluate it once on the test set.

``configs`` says what a search trains, ``jobs`` runs its training jobs,
``pair`` trains one configuration with SGD and by hand and compares them
bit for bit, ``run`` is the search itself, ``selection`` the rule of
task 9, ``evaluation`` task 10's metrics, ``results`` the saved folder,
``logformat`` the course's log, ``cli`` the command line
(``python -m byhand.search``) and ``outputs`` its output paths.
"""

from byhand.search.configs import (
    COURSE_SETTINGS,
    PROFILES,
    TINY,
    ProfileError,
    SearchConfig,
    config_from_env,
)
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

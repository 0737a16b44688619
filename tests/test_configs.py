"""byhand.search.configs: the profiles and the settings they train."""

import pytest

from byhand.search import configs as ex

pytestmark = pytest.mark.task8


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("BYHAND_SEARCH", "tiny")
    assert ex.config_from_env() is ex.TINY
    monkeypatch.setenv("BYHAND_SEARCH", "huge")
    with pytest.raises(ValueError, match="not a search profile"):
        ex.config_from_env()


def test_default_search_covers_the_course_and_a_grid():
    settings = ex.SearchConfig().settings()
    triples = [s[1:] for s in settings]
    for course in ex.COURSE_SETTINGS:
        assert course in triples
    assert len(set(triples)) == len(triples) > 10
    assert {s[0] for s in settings} == {"course", "grid", "probe"}
    # One or two probes of failure, the rest where training works.
    assert 1 <= sum(s[0] == "probe" for s in settings) <= 2


def test_tiny_profile_shrinks_every_stage():
    tiny = ex.TINY
    assert tiny.n_epochs < ex.SearchConfig().n_epochs
    assert len(tiny.seeds) == 2 and tiny.seeds[0] == 265
    assert tiny.flip and tiny.n_top == 2


def test_a_setting_in_two_lists_is_trained_once_as_the_first_source():
    # The course's settings come first: one the grid repeats stays the
    # course's (its log block), not a second grid run.
    config = ex.SearchConfig(
        grid_lr=(0.01,), grid_momentum=(0.9,), grid_weight_decay=(0.0,),
        probes=((0.01, 0.9, 0.0), (1.0, 0.9, 0.0)),
    )  # fmt: skip
    settings = config.settings()
    assert settings.count(("course", 0.01, 0.9, 0.0)) == 1
    assert [s for s in settings if s[1:] == (0.01, 0.9, 0.0)] == [
        ("course", 0.01, 0.9, 0.0)
    ]
    assert settings[-1] == ("probe", 1.0, 0.9, 0.0)

"""config/env.py: typed environment readers fail at start-up, naming the variable, on a malformed value."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int

NAME = "NEWSDESK_TEST_ENV_VALUE"


@pytest.mark.parametrize("reader, default", [(env_int, 7), (env_float, 2.5), (env_bool, True)])
def test_unset_or_blank_means_the_default(monkeypatch, reader, default):
    monkeypatch.delenv(NAME, raising=False)
    assert reader(NAME, default) == default
    if reader is not env_bool:  # a blank boolean is an explicit "off"
        monkeypatch.setenv(NAME, "  ")
        assert reader(NAME, default) == default


def test_numbers_are_parsed(monkeypatch):
    monkeypatch.setenv(NAME, " 12 ")
    assert env_int(NAME, 0) == 12 and type(env_int(NAME, 0)) is int
    monkeypatch.setenv(NAME, "1.5")
    assert env_float(NAME, 0.0) == 1.5
    monkeypatch.setenv(NAME, "3")
    assert env_float(NAME, 0.0) == 3.0 and type(env_float(NAME, 0.0)) is float


@pytest.mark.parametrize(
    "reader, default, raw, says",
    [
        (env_int, 1, "1.5", "must be an integer"),
        (env_int, 1, "ten", "must be an integer"),
        (env_float, 1.0, "fast", "must be a number"),
        (env_bool, True, "maybe", "must be a boolean"),
    ],
)
def test_a_malformed_value_names_the_variable(monkeypatch, reader, default, raw, says):
    monkeypatch.setenv(NAME, raw)
    with pytest.raises(ImproperlyConfigured) as caught:
        reader(NAME, default)
    assert NAME in str(caught.value) and says in str(caught.value) and repr(raw) in str(caught.value)

"""Configuration: production refuses weak settings."""

import pytest

from campaign.config import load_config


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config("production")


def test_production_refuses_a_short_secret_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config("production")


def test_production_accepts_a_strong_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    config = load_config("production")
    assert config.SESSION_COOKIE_SECURE is True


def test_unknown_environment_is_refused():
    with pytest.raises(RuntimeError, match="APP_ENV"):
        load_config("staging")

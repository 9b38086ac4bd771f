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
    monkeypatch.setenv("PUBLIC_URL", "https://petition.example.org/")
    config = load_config("production")
    assert config.SESSION_COOKIE_SECURE is True
    assert config.PUBLIC_URL == "https://petition.example.org"
    assert config.TRUSTED_HOSTS == ["petition.example.org"]
    assert config.HSTS_SECONDS > 0


@pytest.mark.parametrize("url", ["", "petition.example.org", "ftp://x.example", "https://x/y"])
def test_production_refuses_to_start_without_a_public_url(monkeypatch, url):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("PUBLIC_URL", url)
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        load_config("production")


def test_development_links_default_to_host_and_port(monkeypatch):
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    monkeypatch.setenv("HOST", "127.0.0.2")
    monkeypatch.setenv("PORT", "8123")
    assert load_config("development").PUBLIC_URL == "http://127.0.0.2:8123"


def test_unknown_environment_is_refused():
    with pytest.raises(RuntimeError, match="APP_ENV"):
        load_config("staging")


def test_every_environment_variable_is_in_the_readme_table():
    """README's configuration table names every variable the app and gunicorn read."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    source = (root / "campaign" / "config.py").read_text() + (root / "gunicorn.conf.py").read_text()
    read = set(re.findall(r'(?:environ\.get|environ\.setdefault|_int|_bool|_list)\(\s*"([A-Z_]+)"',
                          source))  # fmt: skip
    assert {"DATABASE_URL", "REDIS_URL", "METRICS_TOKEN", "WEB_CONCURRENCY"} <= read
    table = (root / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    assert sorted(read - rows) == []

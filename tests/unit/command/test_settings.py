"""Settings are typed, validated and have no default secret outside dev/test."""

from __future__ import annotations

import secrets

import pytest

from command.settings import DEV_SECRET, SettingsError, load_settings, server_port


def test_dev_defaults_use_sqlite_under_instance(tmp_path):
    s = load_settings({"instance_path": tmp_path})
    assert s.sqlalchemy_url == f"sqlite:///{tmp_path / 'hailops.sqlite3'}"
    assert s.secret_key == DEV_SECRET
    assert s.default_locale == "zh"


def test_production_without_secret_fails_with_clear_message():
    with pytest.raises(SettingsError, match="HAILOPS_SECRET_KEY must be set in production"):
        load_settings({"env": "production"})


def test_production_with_secret_keeps_it():
    secret = secrets.token_hex(32)
    s = load_settings({"env": "production", "secret_key": secret,
                       "message_queue": "redis://127.0.0.1:6379/0"})
    assert s.secret_key == secret


@pytest.mark.parametrize("secret", ["", "x", "x" * 40, "abcabcabcabcabcabcabcabcabcabcabc",
                                    "short-but-random-9f3k", DEV_SECRET])
def test_production_refuses_short_or_repetitive_secrets(secret):
    """Issue 13: an empty or one-letter HAILOPS_SECRET_KEY was accepted in production."""
    with pytest.raises(SettingsError, match="at least 32 random characters"):
        load_settings({"env": "production", "secret_key": secret})


def test_production_cookies_are_secure_by_default():
    """Issue 13: the session cookie lacked Secure in production."""
    assert load_settings({"env": "production", "secret_key": secrets.token_hex(32),
                          "ratelimit_storage_uri": "memory://"}).session_cookie_secure is True
    assert load_settings({"env": "dev"}).session_cookie_secure is False


def test_environment_variables_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("HAILOPS_DATABASE_URL", "postgresql://u@127.0.0.1:5432/test")
    monkeypatch.setenv("HAILOPS_RADAR_POLL_SECONDS", "12")
    s = load_settings()
    assert s.sqlalchemy_url == "postgresql+psycopg://u@127.0.0.1:5432/test"
    assert s.radar_poll_seconds == 12


@pytest.mark.parametrize("field,value", [
    ("database_url", "mysql://x/y"),
    ("radar_poll_seconds", 0),
    ("env", "staging"),
    ("default_locale", "fr"),
    ("drill_cron", "every day at nine"),
])
def test_invalid_values_are_rejected(field, value):
    with pytest.raises(SettingsError, match="invalid settings"):
        load_settings({field: value})


def test_levels_must_be_ordered():
    with pytest.raises(SettingsError, match="SEASONAL_H20_M"):
        load_settings({"seasonal_h0_m": 5000, "seasonal_h20_m": 4000})


def test_port(monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    assert server_port() == 8123
    monkeypatch.setenv("PORT", "http")
    with pytest.raises(SettingsError, match="PORT"):
        server_port()

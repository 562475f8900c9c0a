"""Settings refuse to start without a usable SECRET_KEY."""

import pytest
from pydantic import ValidationError

from app.config import Settings


def test_a_short_secret_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY must be at least 32 characters"):
        Settings(_env_file=None, secret_key="too-short")


def test_a_missing_secret_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="secret_key"):
        Settings(_env_file=None)


def test_a_long_secret_key_is_accepted() -> None:
    settings = Settings(_env_file=None, secret_key="k" * 32)
    assert settings.secret_key.get_secret_value() == "k" * 32

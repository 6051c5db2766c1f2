"""Settings refuse unsafe production configurations and parse comma-separated lists."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.settings import Settings

STRONG = "x" * 40


def test_production_needs_a_real_secret_and_https() -> None:
    with pytest.raises(ValidationError):
        Settings(environment="production", public_url="https://b.example", secret_key="changeme")
    with pytest.raises(ValidationError):
        Settings(environment="production", public_url="http://b.example", secret_key=STRONG)
    with pytest.raises(ValidationError):
        Settings(
            environment="production",
            public_url="https://b.example",
            secret_key=STRONG,
            evaluation_date="2021-04-01",
        )
    ok = Settings(environment="production", public_url="https://b.example/", secret_key=STRONG)
    assert ok.public_url == "https://b.example"


def test_symmetric_and_none_algorithms_are_refused() -> None:
    for algs in ("HS256", "none", "ES384,HS384"):
        with pytest.raises(ValidationError):
            Settings(jwt_algorithms=algs)


def test_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEDSIDE_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("BEDSIDE_JWT_ALGORITHMS", "ES384,RS384")
    settings = Settings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.jwt_algorithms == ["ES384", "RS384"]

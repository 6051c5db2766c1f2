"""The one configuration object: every knob is an environment variable prefixed BEDSIDE_."""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development"}


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Bedside's settings. See the README's configuration table for each variable."""

    model_config = SettingsConfigDict(env_prefix="BEDSIDE_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    public_url: str = "http://127.0.0.1:8000"
    data_dir: Path = Path("bedside-data")
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: SecretStr | None = None
    admin_token: SecretStr | None = None
    log_level: str = "INFO"

    # content and credit configuration
    content_dir: Path | None = None
    credit_rules_file: Path | None = None

    # CDS Hooks: the EHR's JWT
    jwt_leeway_seconds: int = Field(default=60, ge=0, le=300)
    jwt_algorithms: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["ES384", "RS384", "ES256", "RS256", "ES512", "RS512", "PS384"]
    )
    jwks_refresh_min_seconds: int = Field(default=60, ge=1)
    jti_max_ttl_seconds: int = Field(default=3600, ge=60, le=3600)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # CDS Hooks: prefetch, limits, cards
    fetch_deadline_seconds: float = Field(default=1.5, gt=0, le=30)
    max_body_bytes: int = Field(default=5_000_000, ge=1024)
    rate_limit_per_minute: int = Field(default=1200, ge=0)
    max_cards: int = Field(default=2, ge=0, le=10)
    repeat_window_days: int = Field(default=30, ge=0)
    app_context_ttl_seconds: int = Field(default=7 * 86400, ge=60)
    # How long a worker may answer from its copy of a learner's state (0: read the database
    # on every call). Kept current by invalidations; this bounds writers outside the server.
    learner_state_cache_seconds: int = Field(default=600, ge=0, le=86400)
    # Evaluate patients as of this date (demos over synthetic data); development only.
    evaluation_date: date | None = None

    # SMART app
    session_ttl_seconds: int = Field(default=8 * 3600, ge=60)
    cookie_secure: bool = True
    frame_ancestors: Annotated[list[str], NoDecode] = Field(default_factory=list)
    signing_key_file: Path | None = None

    # Learning Record Store (xAPI), optional
    lrs_url: str | None = None
    lrs_username: str | None = None
    lrs_password: SecretStr | None = None

    @field_validator("jwt_algorithms", "cors_origins", "frame_ancestors", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("jwt_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        bad = [alg for alg in value if alg.upper() == "NONE" or alg.upper().startswith("HS")]
        if bad:
            raise ValueError(f"symmetric or 'none' algorithms are never accepted: {bad}")
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _production_secrets(self) -> Settings:
        if self.environment == "production":
            key = self.secret_key.get_secret_value() if self.secret_key else ""
            if key.lower() in _PLACEHOLDER_SECRETS or len(key) < 32:
                raise ValueError("BEDSIDE_SECRET_KEY must be set to >= 32 random characters")
            if self.evaluation_date is not None:
                raise ValueError("BEDSIDE_EVALUATION_DATE is for demos, not production")
            if not self.public_url.startswith("https://"):
                raise ValueError("BEDSIDE_PUBLIC_URL must be https:// in production")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The configured database URL, or the embedded SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'bedside.db').resolve()}"

    def resolved_secret_key(self) -> bytes:
        """The server secret; in development a random one is kept in the data dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret.key"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("x") as handle:  # atomic create: concurrent workers agree on one
                handle.write(secrets.token_urlsafe(48))
            path.chmod(0o600)
        except FileExistsError:
            pass
        return path.read_text().strip().encode()


def settings_problems(exc: ValidationError) -> str:
    """Validation messages without the offending input (it may be a secret)."""
    return "; ".join(
        f"{'.'.join(map(str, e.get('loc', ()))) or 'settings'}: {e.get('msg', '')}"
        for e in exc.errors()
    )

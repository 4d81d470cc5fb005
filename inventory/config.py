"""Settings: `config.yaml` holds the documented defaults, `BEDFINDER_*` variables override them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"


def config_path() -> Path:
    """`BEDFINDER_CONFIG`, else `./config.yaml`, else the one shipped beside the packages."""
    explicit = os.environ.get("BEDFINDER_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("config.yaml")
    return local if local.is_file() else REPO_CONFIG


class LevelOfCare(BaseModel):
    name: str
    kind: str = "bed"
    asam: list[str] = Field(default_factory=list)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BEDFINDER_", extra="ignore")

    data_dir: Path = Path(".bedfinder")
    redis_url: str | None = None
    database_url: str | None = None

    public_read: bool = False
    redis_prefix: str = "bf{main}:"
    stream_max_events: int = 100_000
    seq_rebuild_gap: int = 1_000_000
    subscriber_queue: int = 2000
    heartbeat_seconds: float = 15.0
    max_body_bytes: int = 262_144
    hold_minutes: int = 120
    hold_max_minutes: int = 480
    hold_expiry_check_seconds: float = 1.0
    purge_client_refs_days: int = 30
    caseload_limit: int = 8
    at_risk_hours: float = 24.0
    lapse_grace_hours: float = 2.0
    transition_watch_seconds: float = 2.0
    referral_expiry_minutes: int = 240
    decline_reasons: list[str] = Field(default_factory=lambda: [
        "no_bed", "eligibility", "clinical_needs", "payer", "client_declined", "other"])
    default_cadence_minutes: int = 240
    token_cache_seconds: float = 5.0
    # Requests per token (per client address without one), cluster-wide; "" turns one off.
    rate_limit_writes: str = "600/minute"
    rate_limit_reads: str = "3000/minute"
    # The address people and systems reach this deployment at: absolute links (FHIR fullUrl,
    # HSDS openapi_url) are built from it, never from a request's Host header.
    public_base_url: str = "http://127.0.0.1:8000"
    # Websocket and page origins accepted (empty: same host only).
    allowed_origins: list[str] = Field(default_factory=list)
    # Polling feeds (feeds/): each {name, kind, url or path, interval_seconds, mapping}.
    feeds: list[dict[str, Any]] = Field(default_factory=list)
    # EDXL-HAVE hospital id -> {bed type -> unit id}.
    edxl_hospitals: dict[str, dict[str, str]] = Field(default_factory=dict)
    # Provider reminder webhook (freshness): {url, secret, max_failures}.
    reminder_webhook: dict[str, Any] = Field(default_factory=dict)
    freshness_check_seconds: float = 60.0
    # Accept a simulated clock (PUT /api/v1/simulation/clock) for `bedfinder simulate`.
    # Never true in production: every time the service records would be the simulation's.
    simulation_mode: bool = False
    levels_of_care: dict[str, LevelOfCare] = Field(default_factory=dict)
    pathways: dict[str, list[str]] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_source = YamlConfigSettingsSource(settings_cls, yaml_file=config_path())
        return (init_settings, env_settings, yaml_source)

    def sqlalchemy_url(self) -> str:
        """The configured database, or SQLite in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'bedfinder.db').resolve()}"

    def level_names(self) -> dict[str, str]:
        return {key: level.name for key, level in self.levels_of_care.items()}


def load_settings(**overrides: Any) -> Settings:
    """Settings for this process; keyword overrides win over environment and file."""
    return Settings(**overrides)

"""Settings: `config.yaml` holds the documented defaults, `BEDFINDER_*` variables override them.

Loading fails early and in one sentence (`ConfigError`): a `BEDFINDER_CONFIG` naming a missing
file, a key the settings do not have (with the closest known key suggested), a value out of
range, or an environment value of the wrong type. The default `config.yaml` ships inside the
`inventory` package, so an installed wheel works from any directory.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    YamlConfigSettingsSource,
)

DEFAULT_CONFIG = Path(__file__).resolve().parent / "config.yaml"
REPO_CONFIG = DEFAULT_CONFIG  # the repository's top-level config.yaml is a link to this file
ENV_PREFIX = "BEDFINDER_"


# Authorization request parameters the sign-in flow sets itself (web/oidc.py).
OIDC_RESERVED = frozenset({"client_id", "redirect_uri", "response_type", "scope", "state",
                           "nonce", "code_challenge", "code_challenge_method"})


class ConfigError(ValueError):
    """The configuration cannot be used; the message is one line saying what to fix."""


def config_path() -> Path:
    """`BEDFINDER_CONFIG`, else `./config.yaml`, else the one shipped in the package."""
    explicit = os.environ.get("BEDFINDER_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("config.yaml")
    return local if local.is_file() else DEFAULT_CONFIG


class LevelOfCare(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(default="bed", pattern="^(bed|slot)$")
    asam: list[str] = Field(default_factory=list)
    names: dict[str, str] = Field(default_factory=dict)  # display names by language (es, zh-Hant, vi)


class Analytics(BaseModel):
    """What the outcome measures may record and how they read it (docs/measures.md)."""

    model_config = ConfigDict(extra="forbid")

    # Accept race and ethnicity (OMB SPD 15 minimum categories) on transitions. Off unless
    # the county decides to report equity by them; the API refuses the field while off.
    record_race_ethnicity: bool = False
    # Levels a client returning within 30 days counts as a return to crisis.
    crisis_levels: list[str] = Field(default_factory=lambda: [
        "crisis_stabilization", "crisis_residential", "psychiatric_inpatient"])


# The push services of Chrome/Edge (FCM), Firefox, Edge on Windows and Safari.
PUSH_SERVICES = ("fcm.googleapis.com", "push.services.mozilla.com", "notify.windows.com",
                 "push.apple.com")


class AlertSettings(BaseModel):
    """Alerts (docs/alerts.md); override one value with e.g. BEDFINDER_ALERTS__POLL_SECONDS."""

    model_config = ConfigDict(extra="forbid")

    escalate_after_minutes: float = Field(default=30, gt=0, le=7 * 24 * 60)
    poll_seconds: float = Field(default=3.0, gt=0, le=600)
    push_subject: str = Field(default="mailto:bedfinder-admin@example.org",
                              pattern="^(mailto:|https://)", max_length=300)
    push_ttl_seconds: int = Field(default=3600, ge=0, le=2_419_200)
    # Push services browsers' subscriptions may point at (a host, or a domain it ends with).
    push_hosts: list[str] = Field(default_factory=lambda: list(PUSH_SERVICES), min_length=1)


class SmtpSettings(BaseModel):
    """E-mail alerts: off while `host` is empty (docs/alerts.md)."""

    model_config = ConfigDict(extra="forbid")

    host: str = ""
    port: int = Field(default=587, ge=1, le=65_535)
    sender: str = Field(default="Bedfinder <bedfinder@example.org>", min_length=3,
                        max_length=300)
    starttls: bool = True
    tls: bool = False
    user: str = ""
    password: str = ""
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid",
                                      env_nested_delimiter="__")

    data_dir: Path = Path(".bedfinder")
    redis_url: str | None = None
    # Redis Sentinel instead of one Redis: "host:port,host:port" and the monitored name.
    redis_sentinels: str = ""
    redis_sentinel_service: str = "bedfinder"
    database_url: str | None = None

    public_read: bool = False
    redis_prefix: str = Field(default="bf{main}:", min_length=1, max_length=64)
    stream_max_events: int = Field(default=100_000, ge=100, le=100_000_000)
    seq_rebuild_gap: int = Field(default=1_000_000, ge=0, le=10**12)
    subscriber_queue: int = Field(default=2000, ge=1, le=1_000_000)
    heartbeat_seconds: float = Field(default=15.0, gt=0, le=3600)
    # /readyz fails once the stream reader has been behind the event stream this long. An
    # idle reader is renewed by its blocking read, every second plus Redis's timer step (up to
    # about 0.1 s), so a bound under 2 s would fail a healthy, idle process now and then.
    stream_stall_seconds: float = Field(default=5.0, ge=2, le=3600)
    max_body_bytes: int = Field(default=262_144, ge=1024, le=100_000_000)
    # JSON bodies nested deeper than this are refused (422) before anything reads them.
    max_json_depth: int = Field(default=64, ge=4, le=500)
    write_shortcut: bool = True
    # Connections (web/connection_guard.py): a connection that has not sent a complete
    # request within header_timeout_seconds is closed; one client address may hold at most
    # max_connections_per_address (0: no cap); all addresses together max_connections
    # (0: the process's file-descriptor limit less a reserve for Redis, SQL and files).
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    max_connections_per_address: int = Field(default=256, ge=0, le=1_000_000)
    max_connections: int = Field(default=0, ge=0, le=10_000_000)
    # A feed document (upload or poll) must be parsed within this many seconds.
    feed_parse_seconds: float = Field(default=5.0, gt=0, le=600)
    hold_minutes: int = Field(default=120, ge=1, le=10_080)
    hold_max_minutes: int = Field(default=480, ge=1, le=10_080)
    hold_expiry_check_seconds: float = Field(default=1.0, gt=0, le=3600)
    purge_client_refs_days: int = Field(default=30, ge=1, le=3650)
    caseload_limit: int = Field(default=8, ge=1, le=10_000)
    at_risk_hours: float = Field(default=24.0, gt=0, le=24 * 365)
    lapse_grace_hours: float = Field(default=2.0, ge=0, le=24 * 365)
    transition_watch_seconds: float = Field(default=2.0, gt=0, le=3600)
    referral_expiry_minutes: int = Field(default=240, ge=1, le=10_080 * 4)
    decline_reasons: list[str] = Field(default_factory=lambda: [
        "no_bed", "eligibility", "clinical_needs", "payer", "client_declined", "other"],
        min_length=1)
    default_cadence_minutes: int = Field(default=240, ge=1, le=10_080)
    token_cache_seconds: float = Field(default=5.0, ge=0, le=3600)
    # How often each process checks its open websockets' tokens against SQL (a revocation
    # whose pub/sub message it missed still closes them within this).
    token_sweep_seconds: float = Field(default=10.0, gt=0, le=3600)
    # Requests per token (per client address without one), cluster-wide; "" turns one off.
    rate_limit_writes: str = "600/minute"
    rate_limit_reads: str = "3000/minute"
    # Failed token lookups per client address (unknown, revoked or expired tokens), counted
    # before the SQL lookup; "" turns it off.
    rate_limit_invalid_tokens: str = "30/minute"
    # Peers (addresses or CIDR networks) whose X-Forwarded-For is believed: the client address
    # that limits count is then the right-most forwarded address not in this list.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Open websockets (both paths) per token and per client address, in each process.
    max_websockets_per_token: int = Field(default=16, ge=1, le=1_000_000)
    max_websockets_per_address: int = Field(default=256, ge=1, le=1_000_000)
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
    freshness_check_seconds: float = Field(default=60.0, gt=0, le=86_400)
    # Sign-in with the county's identity provider (OpenID Connect; docs/deployment.md). With
    # no issuer, pages and the API take tokens only, as before.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = Field(default="openid email profile", min_length=6, max_length=500)
    oidc_role_claim: str = Field(default="bedfinder_role", min_length=1, max_length=100)
    oidc_org_claim: str = Field(default="bedfinder_org", min_length=1, max_length=100)
    oidc_admin_contact: str = Field(default="your Bedfinder administrator", max_length=300)
    oidc_clock_skew_seconds: int = Field(default=60, ge=0, le=600)
    # Extra parameters of the authorization request, as a query string: Google issues a
    # refresh token (which session rechecks need) only with `access_type=offline&prompt=consent`.
    oidc_authorize_params: str = Field(default="", max_length=500)
    # A session ends after this long without a request, and after this long in any case.
    session_idle_minutes: float = Field(default=30, gt=0, le=24 * 60)
    session_absolute_hours: float = Field(default=12, gt=0, le=24 * 30)
    # At most this long after a person is disabled at the provider, their session ends.
    session_recheck_minutes: float = Field(default=5, gt=0, le=24 * 60)
    # Who read which hold, referral or transition is kept this many days, then purged.
    access_log_days: int = Field(default=2190, ge=1, le=36_500)
    # Accept a simulated clock (PUT /api/v1/simulation/clock) for `bedfinder simulate`.
    # Never true in production: every time the service records would be the simulation's.
    simulation_mode: bool = False
    analytics: Analytics = Field(default_factory=Analytics)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    levels_of_care: dict[str, LevelOfCare] = Field(default_factory=dict)
    pathways: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def consistent(self) -> Settings:
        if self.hold_minutes > self.hold_max_minutes:
            raise ValueError(f"hold_minutes {self.hold_minutes} is more than hold_max_minutes "
                             f"{self.hold_max_minutes}")
        reserved = OIDC_RESERVED & {k for k, _ in parse_qsl(self.oidc_authorize_params)}
        if reserved:
            raise ValueError(f"oidc_authorize_params may not set {', '.join(sorted(reserved))}: "
                             "Bedfinder sets them for every sign-in")
        if self.levels_of_care:
            named = {lv for src, dst in self.pathways.items() for lv in [src, *dst]}
            unknown = sorted(named - set(self.levels_of_care))
            if unknown:
                raise ValueError(f"pathways name levels of care that levels_of_care does not "
                                 f"define: {', '.join(unknown)}")
            strange = sorted(set(self.analytics.crisis_levels) - set(self.levels_of_care))
            if strange:
                raise ValueError(f"analytics.crisis_levels names levels of care that "
                                 f"levels_of_care does not define: {', '.join(strange)}")
        return self

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

    def level_names(self, lang: str = "en") -> dict[str, str]:
        """Each level's display name in `lang`, English where none is configured."""
        return {key: (level.names.get(lang) if lang != "en" else None) or level.name
                for key, level in self.levels_of_care.items()}


def load_settings(**overrides: Any) -> Settings:
    """Settings for this process; keyword overrides win over environment and file.

    Raises ConfigError (one line) instead of pydantic's multi-line report."""
    path = config_path()
    if not path.is_file():
        if os.environ.get("BEDFINDER_CONFIG"):
            raise ConfigError(f"BEDFINDER_CONFIG names {path}, which does not exist (unset it "
                              f"to use ./config.yaml or the shipped defaults)")
        raise ConfigError(f"the shipped defaults {path} are missing: reinstall bedfinder")
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(describe(error, path)) from None
    except SettingsError as error:
        cause = f": {error.__cause__}" if error.__cause__ else ""
        raise ConfigError(f"{error}{cause}".replace("\n", " ")) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(error).split())}") from None


def describe(error: ValidationError, path: Path) -> str:
    """The first problem of a settings validation error as one sentence naming its source."""
    problems = error.errors(include_url=False)
    first = problems[0]
    loc = [str(part) for part in first["loc"]]
    key = loc[0] if loc else ""
    where = ".".join(loc)
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    if first["type"] == "extra_forbidden":
        nested: dict[str, type[BaseModel]] = {"alerts": AlertSettings, "smtp": SmtpSettings,
                                              "analytics": Analytics}
        known = (Settings.model_fields if len(loc) == 1
                 else nested.get(loc[0], LevelOfCare).model_fields)
        close = difflib.get_close_matches(loc[-1], list(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{path}: unknown setting {where!r}{hint}{more}"
    env = ENV_PREFIX + key.upper()
    source = f"{env}={os.environ[env]!r}" if key and env in os.environ else str(path)
    if not key:
        return f"{source}: {first['msg']}{more}"
    return f"{source}: {where}: {first['msg']}, got {first.get('input')!r}{more}"

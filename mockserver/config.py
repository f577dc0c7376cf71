"""How one mock instance is set up: storage, identities, webhooks, strictness.

One immutable object handed to `create_app`, so tests can build as many isolated mocks
as they like and the CLI only has to fill it in from flags.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .store import process_local

DEFAULT_DB = ".mockserver/state.db"
APP_THREADS = 32  # per serving process (front.py); a thread is taken only by a complete request
DEFAULT_JWT_SECRET = "capillary-mock-secret-for-local-tokens-only"  # >= 32 bytes for HS256


@dataclass(frozen=True)
class Subscription:
    """A webhook receiver and the headers sent with every delivery to it."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryPolicy:
    """Retry rules for webhook deliveries: exponential back-off, bounded."""

    timeout_s: float = 5.0
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    max_attempts: int = 8
    poll_interval_s: float = 0.05


@dataclass(frozen=True)
class MockConfig:
    """Everything a mock instance needs; defaults are what `make serve` runs."""

    db: str = DEFAULT_DB
    users_file: Path | None = None
    jwt_secret: str = DEFAULT_JWT_SECRET
    token_ttl_s: int = 3600
    strict: bool = False
    max_body_bytes: int = 1024 * 1024
    max_json_depth: int = 64
    webhooks: tuple[Subscription, ...] = ()
    delivery: DeliveryPolicy = DeliveryPolicy()
    dispatch: bool = True
    chain_calls: bool = False
    chain_allow: tuple[str, ...] = ()  # HOST or HOST:PORT a chained call may reach (`--chain-allow`)
    admin_token: str | None = None     # `--admin-token`: required by /__admin/* (health aside)
    chain_timeout_s: float = 10.0
    # How long a forced `timeout` outcome holds the approving call before it answers `failed`/504,
    # so a screen's waiting state can be seen (`--outcome-timeout`).
    outcome_timeout_s: float = 5.0
    fixtures_dir: Path | None = None
    examples: bool = False  # preload the documents' own requests (see preload.py)
    # The zone of the times the APIs write without an offset (startTime, endTime, v1.1 dates). The
    # documents' times are Capillary's cluster local time, IST; see zone_of for the forms taken.
    timezone: str = "+05:30"
    pending_per_type: int = 0  # preload this many waiting requests of every type (see preload.load_pending)
    journal: bool = True

    @property
    def in_memory(self) -> bool:
        """The database lives in one process (the store says which locations do)."""
        return process_local(self.db)


@functools.lru_cache(maxsize=64)  # every timestamp the mock writes asks for the configured zone
def zone_of(text: str) -> tzinfo:
    """`UTC`, an offset such as `+05:30`, or an IANA name such as `Asia/Kolkata`; ValueError otherwise."""
    if text.upper() in ("UTC", "Z"):
        return timezone.utc
    offset = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text)
    if offset:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        if delta >= timedelta(hours=24):
            raise ValueError(f"{text!r}: an offset is less than 24 hours")
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is not UTC, an offset like +05:30, or a zone name like Asia/Kolkata") from None

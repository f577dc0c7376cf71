"""How one mock instance is set up: storage, identities, webhooks, strictness.

One immutable object handed to `create_app`, so tests can build as many isolated mocks
as they like and the CLI only has to fill it in from flags.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .store import process_local

DEFAULT_DB = ".mockserver/state.db"
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
    fixtures_dir: Path | None = None
    examples: bool = False  # preload the documents' own requests (see preload.py)
    pending_per_type: int = 0  # preload this many waiting requests of every type (see preload.load_pending)
    journal: bool = True

    @property
    def in_memory(self) -> bool:
        """The database lives in one process (the store says which locations do)."""
        return process_local(self.db)

"""The per-app bundle of collaborators, so handlers reach them through one object."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
import time

from flask import current_app

from .config import MockConfig
from capillary_contract.loader import Contract
from .identity import Directory
from .journal import JournalBuffer
from capillary_contract.types import RequestType
from .store import Store
from .store.claims import ClaimKeeper
from .validation import RequestValidator

EXTENSION = "mockserver"


@dataclass
class MockState:
    config: MockConfig
    contract: Contract
    directory: Directory
    store: Store
    types: dict[str, RequestType]
    validator: RequestValidator
    started: float
    journal: JournalBuffer
    claims: ClaimKeeper

    @staticmethod
    def now() -> str:
        """Time as the documents write it: to the second, no zone (UTC here)."""
        return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")

    @staticmethod
    def now_ms() -> int:
        return int(time.time() * 1000)


def mock_state() -> MockState:
    return current_app.extensions[EXTENSION]

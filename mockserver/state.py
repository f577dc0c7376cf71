"""The per-app bundle of collaborators, so handlers reach them through one object."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import time

from flask import current_app

from .config import MockConfig, zone_of
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
    admin: Contract  # the mock's control API (admin.openapi.yaml), leaning on `contract`
    directory: Directory
    store: Store
    types: dict[str, RequestType]
    validator: RequestValidator
    admin_validator: RequestValidator  # requests to the admin API, against its own document
    started: float
    journal: JournalBuffer
    claims: ClaimKeeper

    def local_now(self) -> datetime:
        """Now in the configured zone (`--timezone`, IST by default, as the documents' times are)."""
        return datetime.now(zone_of(self.config.timezone))

    def now(self) -> str:
        """Time as the documents write it: to the second, local to the cluster, no zone written."""
        return self.local_now().strftime("%Y-%m-%dT%H:%M:%S")

    @staticmethod
    def now_ms() -> int:
        return int(time.time() * 1000)


def mock_state() -> MockState:
    return current_app.extensions[EXTENSION]

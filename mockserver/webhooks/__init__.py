"""Webhooks: every `requestWorkflowEvent` in the outbox reaches every subscription, at least once.

- the outbox: each state change `publish`es its event in its own transaction (api_v2), which
  adds one pending delivery per subscription existing then (the store's `publish`). A
  subscription receives the events published after it was added.
- dispatcher.py sends them (per request in order, a pool for the rest), policy.py decides
  retry or give up, the store records every try; running.py says where the one dispatcher runs.
- views.py: `GET /__admin/events` shows deliveries and can wait for them (`waitFor`).
- receiver.py: a scriptable recording receiver for tests and benchmarks.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .running import attach, on_exit, on_ready, prepare, stop

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["init_app", "on_exit", "on_ready", "stop"]


def init_app(app: Flask) -> None:
    """Called by `create_app`: tables, startup subscriptions, the events view, the dispatcher."""
    from . import views  # the Flask side, imported by apps only (not by the arbiter or the dispatcher process)
    state = app.extensions["mockserver"]
    prepare(state.store, state.config)
    views.install(app)
    attach(app)

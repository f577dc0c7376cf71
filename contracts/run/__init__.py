"""`contracts run`: check a base URL against the contract (probes, lifecycle machine, fuzzing, webhooks).

Talks HTTP only, so it judges any deployment the same way; it imports nothing of `mockserver`.
"""

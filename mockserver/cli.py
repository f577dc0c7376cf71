"""`mockserver serve` (gunicorn) and `mockserver token USER`."""
from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from pathlib import Path
from typing import Any

from .config import APP_THREADS, DEFAULT_DB, DeliveryPolicy, MockConfig, Subscription, zone_of
from .store import is_postgres

# Only what parsing flags needs is imported here: this process becomes gunicorn's arbiter, which
# serves nothing itself, and every module it holds is resident memory of the mock (issue 18).


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def _zone(text: str) -> str:
    try:
        zone_of(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 300:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 to 300, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockserver", description="Stateful mock of Capillary's request workflow APIs.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the mock (gunicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=4010)
    serve.add_argument("--db", default=DEFAULT_DB, help="SQLite file, :memory: for a throwaway run, or postgresql://user:password@host:port/dbname,"
                       " a database several replicas share")
    serve.add_argument("--spec", type=Path, help="the contract to serve (default: $CAPILLARY_OPENAPI, else the "
                       "kit's own openapi.yaml)")
    serve.add_argument("--webhook", action="append", default=[], metavar="URL", help="deliver events to URL (repeatable)")
    serve.add_argument("--webhook-header", action="append", default=[], type=_header, metavar="'Name: value'",
                       help="header sent with every delivery (repeatable), e.g. 'Authorization: Bearer x'")
    serve.add_argument("--webhook-attempts", type=int, default=DeliveryPolicy.max_attempts,
                       help="tries per delivery before it is given up (default %(default)s)")
    serve.add_argument("--webhook-delay", type=float, default=DeliveryPolicy.base_delay_s,
                       help="seconds before the first retry; doubles each time (default %(default)s)")
    serve.add_argument("--webhook-max-delay", type=float, default=DeliveryPolicy.max_delay_s,
                       help="longest wait between tries, seconds (default %(default)s)")
    serve.add_argument("--webhook-timeout", type=float, default=DeliveryPolicy.timeout_s,
                       help="seconds a receiver has to answer (default %(default)s)")
    serve.add_argument("--config", type=Path, help="users file (YAML/JSON) replacing the default identities")
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument("--threads", type=int, default=APP_THREADS,
                       help="threads per worker that run requests; reading them takes none (default %(default)s)")
    serve.add_argument("--strict", action="store_true", help="check every answer against openapi.yaml")
    serve.add_argument("--chain", action="store_true", help="really call the payload's hostname + path on approval"
                       " (only hosts given with --chain-allow)")
    serve.add_argument("--chain-allow", action="append", default=[], metavar="HOST[:PORT]",
                       help="a host (any port) or host:port a chained call may reach (repeatable; needed by --chain)")
    serve.add_argument("--admin-token", default=os.environ.get("MOCKSERVER_ADMIN_TOKEN"),
                       help="require this token (header X-Mock-Admin-Token, or Authorization: Bearer) on /__admin/*"
                       " except health; needed when --host is not a loopback address (env MOCKSERVER_ADMIN_TOKEN)")
    serve.add_argument("--outcome-timeout", type=_seconds, default=MockConfig.outcome_timeout_s, metavar="SECONDS",
                       help="how long an approval forced to time out (X-Mock-Outcome: timeout, or a queued fault)"
                       " waits before it answers failed (default %(default)s)")
    serve.add_argument("--fixtures", type=Path, help="preload lifecycle fixtures from this folder")
    serve.add_argument("--timezone", type=_zone, default=MockConfig.timezone,
                       help="zone of the times written without an offset (default %(default)s, IST, as in "
                            "Capillary's documents): UTC, an offset like +05:30, or a name like Asia/Kolkata")
    serve.add_argument("--pending", type=int, default=0, metavar="N",
                       help="preload N requests of every type waiting for a checker, from several makers")
    serve.add_argument("--examples", action="store_true",
                       help="preload the requests Capillary's documents show, under their documented ids")
    serve.add_argument("--jwt-secret", default=os.environ.get("MOCKSERVER_JWT_SECRET"))
    token = sub.add_parser("token", help="print an X-CAP-UI-AUTH-TOKEN for a configured user")
    token.add_argument("user")
    token.add_argument("--config", type=Path)
    token.add_argument("--ttl", type=int, default=3600, help="seconds the token is valid")
    token.add_argument("--jwt-secret", default=os.environ.get("MOCKSERVER_JWT_SECRET"))
    return parser


def config_from(args: argparse.Namespace) -> MockConfig:
    headers = dict(args.webhook_header)
    extra: dict[str, Any] = {"jwt_secret": args.jwt_secret} if args.jwt_secret else {}
    return MockConfig(db=args.db, users_file=args.config, strict=args.strict, chain_calls=args.chain,
                      chain_allow=tuple(args.chain_allow), outcome_timeout_s=args.outcome_timeout, admin_token=args.admin_token or None,
                      webhooks=tuple(Subscription(u, headers) for u in args.webhook),
                      fixtures_dir=args.fixtures, examples=args.examples, pending_per_type=args.pending, timezone=args.timezone,
                      delivery=DeliveryPolicy(timeout_s=args.webhook_timeout, base_delay_s=args.webhook_delay,
                                              max_delay_s=args.webhook_max_delay, max_attempts=args.webhook_attempts),
                      **extra)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def refusal(args: argparse.Namespace) -> str | None:
    """Why these serve flags are unsafe to start with, or None."""
    if not _is_loopback(args.host) and not args.admin_token:
        return (f"--host {args.host} lets other machines reach the admin API (reset, journal, subscriptions): "
                "give --admin-token TOKEN (or MOCKSERVER_ADMIN_TOKEN)")
    if args.chain and not args.chain_allow:
        return "--chain calls the hosts requests name: list the ones allowed with --chain-allow HOST[:PORT]"
    return None


def serve(args: argparse.Namespace) -> int:
    from .server import run  # gunicorn is imported only to serve
    why = refusal(args)
    if why:
        print(f"mockserver: {why}", file=sys.stderr)
        return 2
    config = config_from(args)
    workers = args.workers
    if config.in_memory and workers > 1:
        print("mockserver: --db :memory: lives in one process; serving with 1 worker", file=sys.stderr)
        workers = 1
    if is_postgres(config.db):  # a database that cannot be used is said once, here, not by every worker
        from .store import StoreError, open_store
        try:
            open_store(config).close()
        except StoreError as exc:
            print(f"mockserver: {exc}", file=sys.stderr)
            return 2
    return run(config, host=args.host, port=args.port, workers=workers, threads=args.threads)


def token(args: argparse.Namespace) -> int:
    from .identity import Directory
    defaults = MockConfig()
    directory = Directory.from_file(args.config, args.jwt_secret or defaults.jwt_secret, args.ttl)
    if args.user not in directory.users:
        print(f"mockserver: no user {args.user!r}; known: {', '.join(sorted(directory.users))}", file=sys.stderr)
        return 2
    print(directory.issue_token(args.user, args.ttl))
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # No record needs its thread or process (the format names neither): looking them up was 40% of the
    # access log line every answer writes (the logging HOWTO's "Optimization").
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    args = build_parser().parse_args(argv)
    if getattr(args, "spec", None):
        from capillary_contract.loader import select_spec
        try:
            select_spec(args.spec)
        except ValueError as exc:
            print(f"mockserver: --spec: {exc}", file=sys.stderr)
            return 2
    return {"serve": serve, "token": token}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

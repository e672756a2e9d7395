"""``taskbridge dashboard``: serve the dashboard with waitress, a production WSGI server.

Binds 127.0.0.1:8787 by default. Credentials (``--auth user:password`` or
``TASKBRIDGE_DASHBOARD_AUTH``) turn on HTTP Basic for every page and API call; a bind to any
address but a loopback one is refused without them.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taskbridge import Bridge

AUTH_VARIABLE = "TASKBRIDGE_DASHBOARD_AUTH"
DEFAULT_BIND = "127.0.0.1:8787"
EXIT_OK, EXIT_USAGE = 0, 2
logger = logging.getLogger("taskbridge.dashboard")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The subcommand's options, added to the parser the CLI made for it."""
    parser.add_argument("--bind", default=DEFAULT_BIND, metavar="HOST:PORT",
                        help=f"address to listen on (default {DEFAULT_BIND}; port 0 picks one)")
    parser.add_argument("--auth", metavar="USER:PASSWORD",
                        help=f"require HTTP Basic credentials (or set ${AUTH_VARIABLE}; "
                             "prefer the variable: arguments show in process lists)")
    parser.add_argument("--threads", type=int, default=4, help="worker threads (default 4)")


def parse_bind(text: str) -> tuple[str, int]:
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--bind {text!r} is not HOST:PORT, e.g. 127.0.0.1:8787")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _fail(message: str) -> int:
    print(f"taskbridge: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(0)  # waitress's loop closes its sockets on SystemExit


def cmd_dashboard(bridge: Bridge, args: argparse.Namespace) -> int:
    """Serve the operations dashboard and its REST API (pages, /api/…, /metrics)."""
    from taskbridge._dashboard.http import Handler
    from taskbridge._dashboard.security import allow_everyone, basic_auth, parse_credentials
    from taskbridge._dashboard.wsgi import WSGIApp

    try:
        host, port = parse_bind(args.bind)
        credentials = args.auth or os.environ.get(AUTH_VARIABLE) or None
        user_password = parse_credentials(credentials) if credentials else None
    except ValueError as exc:
        return _fail(str(exc))
    if user_password is None and not is_loopback(host):
        return _fail(f"refusing to serve {host} without credentials: anyone who can reach it "
                     f"could see and retry tasks; pass --auth user:password or set "
                     f"{AUTH_VARIABLE}, or bind 127.0.0.1")
    try:
        import waitress
    except ImportError:
        return _fail("the dashboard needs waitress: pip install 'taskbridge[dashboard]'")
    authorize = basic_auth(*user_password) if user_password else allow_everyone
    app = WSGIApp(Handler(bridge, authorize=authorize), loopback_only=user_password is None)
    server = waitress.create_server(app, host=host, port=port, threads=args.threads,
                                    ident="taskbridge")
    signal.signal(signal.SIGTERM, _stop)
    where = f"[{host}]" if ":" in host else host
    print(f"taskbridge dashboard: serving {bridge.url.redacted()} at "
          f"http://{where}:{server.effective_port}/ "
          f"({'HTTP Basic' if user_password else 'no credentials, loopback only'})",
          flush=True)
    server.run()
    return EXIT_OK

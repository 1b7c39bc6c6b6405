"""``mcscale explore SCENARIO``: a page on 127.0.0.1 that moves the priors and redraws the forecast.

The server (:mod:`mcscale.report.server`, the standard library's ``http.server``) and the
sampling stack are imported when the command runs, so that ``mcscale --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

from mcscale.cli.common import EXIT_OK, UsageError, load_checked_scenario, positive_int

__all__ = ["add_explore_parser"]

_DEFAULT_PORT = 8765  # as mcscale.report.server.DEFAULT_PORT, which this module does not import at start
_DEFAULT_MAX_DRAWS = 1_000_000  # as mcscale.report.explore.DEFAULT_MAX_DRAWS


def _port(text: str) -> int:
    """Parse a TCP port, 0 (any free port) to 65535 (an argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {text!r}")
    return value


def _cmd_explore(args: argparse.Namespace) -> int:
    scenario = load_checked_scenario(args.scenario)
    from mcscale.report.explore import Explorer
    from mcscale.report.server import ExploreServer
    from mcscale.sim.engine import compile_seconds

    host = args.host if args.host is not None else "127.0.0.1"
    explorer = Explorer(scenario, max_draws=args.max_draws, threads=args.threads)
    seconds = compile_seconds("materialized")
    if seconds:
        print(
            f"mcscale: compiling the kernels once for this install (about {seconds:.0f} s on 2 cores)", file=sys.stderr
        )
    explorer.warm()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # an address given with --host is the user's explicit choice: served, with a warning
            server = ExploreServer(explorer, host, args.port, allow_remote=args.host is not None, verbose=args.verbose)
        except OSError as exc:
            hint = "; give another --port, or --port 0 for any free one" if args.port else ""
            raise UsageError(f"cannot serve on {host}:{args.port}: {exc.strerror or exc}{hint}") from None
    for warning in caught:
        print(f"mcscale: warning: {warning.message}", file=sys.stderr)
    print(f"mcscale explore: {scenario.name} at {server.url}  (Ctrl-C stops it)", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("mcscale explore: stopped", file=sys.stderr)
    return EXIT_OK


def add_explore_parser(commands: Any) -> None:
    """Register ``mcscale explore``."""
    parser = commands.add_parser(
        "explore",
        help="move a scenario's priors in the browser and watch the forecast move",
        description="Serve a page on 127.0.0.1 with a slider and a box for every prior, the seed, the draw count and "
        "the questions; every change redraws the fan chart, the exceedance curve and the crossing-year histogram "
        "of the first question, and updates the answers with their MCSE. 'Save as scenario' downloads a file that "
        "mcscale query reproduces; the state is in the link. Opens no browser unless --open.",
    )
    parser.add_argument("scenario", help="scenario file, or the name of a bundled scenario")
    parser.add_argument(
        "--port", type=_port, default=_DEFAULT_PORT, help=f"port (default {_DEFAULT_PORT}; 0: any free port)"
    )
    parser.add_argument(
        "--host",
        default=None,
        help="address to bind (default 127.0.0.1); another address makes the page reachable by others, with a warning",
    )
    parser.add_argument("--open", action="store_true", help="open the page in the default browser")
    parser.add_argument(
        "--max-draws",
        type=positive_int,
        default=_DEFAULT_MAX_DRAWS,
        help=f"most draws one change may ask for (default {_DEFAULT_MAX_DRAWS:.0e})",
    )
    parser.add_argument("--threads", type=positive_int, default=None, help="worker threads (default: all cores)")
    parser.add_argument("--verbose", action="store_true", help="log every request on stderr")
    parser.set_defaults(handler=_cmd_explore)

"""The ``mcscale`` command line: parses arguments and calls the API.

Exit codes: 0 success, 2 bad input (scenario, arguments, paths), 1 anything else.
User errors print one line per problem on stderr and never a traceback.

One module per command group: :mod:`~mcscale.cli.sampling` (``run``, ``query``,
``scenarios``), :mod:`~mcscale.cli.figures` (``plot``, ``report``, ``compare``),
:mod:`~mcscale.cli.estimate`, :mod:`~mcscale.cli.init` and :mod:`~mcscale.cli.bench`; shared pieces in
:mod:`~mcscale.cli.common`. Each command imports what it needs when it runs, so that
``mcscale --version``, ``mcscale scenarios`` and ``mcscale estimate`` start fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from mcscale._version import __version__
from mcscale.cli.bench import add_bench_parser
from mcscale.cli.common import EXIT_OK, EXIT_USAGE, Parser, UsageError
from mcscale.cli.estimate import add_estimate_parser
from mcscale.cli.explore import add_explore_parser
from mcscale.cli.figures import add_figure_parsers
from mcscale.cli.history import add_history_parsers
from mcscale.cli.init import add_parser as add_init_parser
from mcscale.cli.sampling import (
    DEFAULT_MAX_DRAWS,
    add_compile_parser,
    add_query_parser,
    add_run_parser,
    add_scenarios_parser,
)
from mcscale.cli.sensitivity import add_sensitivity_parser
from mcscale.echo import one_line

__all__ = ["build_parser", "bundled_scenarios", "main", "main_entry"]


def __getattr__(name: str) -> Any:
    # ``bundled_scenarios`` is re-exported lazily: scenario_file pulls in numpy and scipy.special.
    if name == "bundled_scenarios":
        from mcscale.scenario_file import bundled_scenarios

        return bundled_scenarios
    raise AttributeError(f"module 'mcscale.cli' has no attribute {name!r}")


#: The exit codes, as ``mcscale --help`` prints them (README: "Bad input and exit codes").
EXIT_CODES_HELP = """\
exit codes:
  0  success
  1  partly done: some questions not answered (each says why), or a run a dask cluster could not finish
  2  bad input: a scenario, question, option, input file or output path refused, with one line
     naming the file, key or flag; nothing is written and no existing file is changed

counts such as --draws are whole numbers: 100000, 100_000 or 1e5 (--draws at least 2; below 30
draws answers carry no MCSE or interval); seeds lie in [0, 2^63)"""


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = Parser(
        prog="mcscale",
        description="Monte Carlo forecasts of frontier AI training compute.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mcscale {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add_run_parser(commands)
    add_query_parser(commands)
    add_sensitivity_parser(commands)
    add_history_parsers(commands)
    add_figure_parsers(commands)
    add_explore_parser(commands)
    add_estimate_parser(commands)
    add_scenarios_parser(commands)
    add_init_parser(commands)
    add_compile_parser(commands)
    add_bench_parser(commands)
    return parser


def _user_error_lines(exc: ValueError) -> tuple[list[str], list[str]] | None:
    """Return the error lines to print for a library user error, and lines that show it; None for a bug.

    A bad scenario gives one error line per problem; a question that does not parse gives
    one, then the question with a caret under the problem.

    The error classes are imported here, when an error is raised, so that ``--version``,
    ``scenarios`` and ``estimate`` do not import the query machinery.
    """
    from mcscale.model.scenario import ScenarioError
    from mcscale.model.thresholds import QueryError
    from mcscale.query import QuestionSyntaxError

    if isinstance(exc, ScenarioError):
        return exc.lines(), []
    if isinstance(exc, QuestionSyntaxError):  # one error, shown under the question
        message, *shown = exc.lines()
        return [message], shown
    if isinstance(exc, QueryError):
        return [str(exc)], []
    return None


def _print_error(message: object, continued: Sequence[str] = ()) -> None:
    """Print one error line, and lines that show it (a question and its caret), each escaped and cut."""
    print(f"mcscale: error: {one_line(message)}", file=sys.stderr)
    for line in continued:
        print(one_line(line), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:  # before the parser's 0.1 s of imports
        print(f"mcscale {__version__}")
        return EXIT_OK
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # Questions may follow options ("query FILE --draws N 'P(...)'"), which argparse
    # leaves over for a nargs="*" positional.
    if extra and args.command == "query" and not any(e.startswith("-") for e in extra):
        args.args += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    for flag, default in (("draws", 100_000), ("seed", 0), ("precision", None), ("max_draws", DEFAULT_MAX_DRAWS)):
        if hasattr(args, flag):  # remember what was given, then apply the default
            setattr(args, f"{flag}_given", getattr(args, flag) is not None)
            if getattr(args, flag) is None:
                setattr(args, flag, default)
    try:
        return args.handler(args)
    except UsageError as exc:
        _print_error(exc)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mcscale: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `mcscale run ... | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:  # writing an output or reading an input the system refused
        _print_error(exc)
        return EXIT_USAGE
    except ValueError as exc:  # ScenarioError, QuestionSyntaxError and QueryError are ValueErrors
        lines = _user_error_lines(exc)
        if lines is None:
            raise
        errors, shown = lines
        for line in errors:
            _print_error(line, shown)
        return EXIT_USAGE


def main_entry() -> None:
    """Console-script entry point.

    Once a command has returned, everything it writes is written and closed; what is
    left is the interpreter's teardown of numba, llvmlite and scipy, some 0.3 s of a
    short query. So the streams are flushed and the process ends there. An exception
    that escapes still ends the normal way, with its traceback.
    """
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left: nothing more can be said to it
        pass
    sys.stderr.flush()
    os._exit(code)

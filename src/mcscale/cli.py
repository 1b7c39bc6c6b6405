"""The ``mcscale`` command line: parses arguments and calls the API.

Exit codes: 0 success, 2 bad input (scenario, arguments, paths), 1 anything else.
User errors print one line per problem on stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

__all__ = ["bundled_scenarios", "build_parser", "main", "main_entry"]

EXIT_USAGE = 2


class UsageError(Exception):
    """A user error: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit 2."""

    def error(self, message: str) -> None:  # noqa: D102
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(float(text)) if "e" in text.lower() else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def bundled_scenarios() -> dict[str, Path]:
    """Return the scenarios shipped with mcscale, by name."""
    folder = resources.files("mcscale") / "scenarios"
    return {
        Path(p.name).stem: Path(str(p))
        for p in sorted(folder.iterdir(), key=lambda p: p.name)
        if p.name.endswith(".toml")
    }


def _scenario_path(text: str) -> Path:
    """Resolve a scenario file, or the name of a bundled scenario."""
    path = Path(text)
    if path.exists() or path.suffix:
        return path
    return bundled_scenarios().get(text, path)


def _check_output(path: str | None) -> Path | None:
    """Fail before sampling if the output cannot be written."""
    if path is None:
        return None
    out = Path(path)
    parent = out.parent
    if not parent.is_dir():
        raise UsageError(f"{out}: directory {str(parent)!r} does not exist")
    if out.is_dir():
        raise UsageError(f"{out}: is a directory")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{out}: directory {str(parent)!r} is not writable")
    return out


def _summary_years(years: Sequence[float], max_rows: int = 7) -> list[float]:
    """Pick round grid years (multiples of 5, else 10), always with the first and last."""
    for spacing in (5, 10, 20):
        round_years = [y for y in years[1:-1] if float(y) % spacing == 0]
        if len(round_years) + 2 <= max_rows:
            break
    return [years[0], *round_years, years[-1]]


def _print_summary(result) -> None:  # noqa: ANN001
    """Print median and 90% interval of effective FLOP, physical FLOP and spend."""
    from mcscale.results import format_value

    summary = result.summary
    scenario = result.scenario
    print(f"{scenario.name}: {scenario.description}")
    print(f"{result.n_draws} draws, seed {result.seed}, {result.tree.attrs['sampling_seconds']:.2f} s sampling")
    print("median [90% interval]")
    columns = (("effective_flop", "FLOP"), ("physical_flop", "FLOP"), ("spend", "USD"))
    header = f"{'year':>7}  " + "  ".join(f"{name:<32}" for name, _ in columns)
    print(header.rstrip())
    for year in _summary_years(list(result.years)):
        cells = []
        for name, unit in columns:
            q = 10.0 ** summary[name].sel(year=year).values
            cells.append(f"{format_value(q[2], unit)} [{format_value(q[0], unit)}, {format_value(q[4], unit)}]")
        print(f"{year:>7g}  " + "  ".join(f"{c:<32}" for c in cells).rstrip())


def _cmd_run(args: argparse.Namespace) -> int:
    from mcscale import load_scenario, run

    output = _check_output(args.output)
    scenario = load_scenario(_scenario_path(args.scenario))
    result = run(scenario, n_draws=args.draws, seed=args.seed, threads=args.threads)
    _print_summary(result)
    if output is not None:
        result.to_netcdf(output)
        print(f"wrote {output}")
    return 0


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from mcscale import load_scenario

    for name, path in bundled_scenarios().items():
        scenario = load_scenario(path)
        print(f"{name:<10} {scenario.start:g}-{scenario.end:g}  {scenario.description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    from mcscale import __version__

    parser = _Parser(prog="mcscale", description="Monte Carlo forecasts of frontier AI training compute.")
    parser.add_argument("--version", action="version", version=f"mcscale {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="sample a scenario and print a summary")
    run.add_argument("scenario", help="scenario file, or the name of a bundled scenario")
    run.add_argument("--draws", type=_positive_int, default=100_000, help="number of draws (default 100000)")
    run.add_argument("--seed", type=_seed, default=0, help="root seed (default 0)")
    run.add_argument("--threads", type=_positive_int, default=None, help="worker threads (default: all cores)")
    run.add_argument("--output", "-o", default=None, help="write the result to this netCDF file")
    run.set_defaults(handler=_cmd_run)

    scenarios = commands.add_parser("scenarios", help="list the bundled scenarios")
    scenarios.set_defaults(handler=_cmd_scenarios)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    from mcscale.scenario import ScenarioError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ScenarioError as exc:
        for line in exc.lines():
            print(f"mcscale: error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"mcscale: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mcscale: interrupted", file=sys.stderr)
        return 130


def main_entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    main_entry()

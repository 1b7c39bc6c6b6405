"""``mcscale init NAME.toml``: write a commented template scenario to start from.

The template (``mcscale/scenarios/templates/starter.toml``) has every section, each key
with its meaning and unit in a comment, and the sources of its numbers cited by title;
``mcscale run NAME.toml`` accepts it as written. This command reads one packaged file and
writes one file, so it imports nothing heavy (no numpy, numba or xarray).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from mcscale.cli.common import EXIT_OK, EXIT_USAGE
from mcscale.fileio import write_atomic

__all__ = ["TEMPLATE", "add_parser", "run", "template_text"]

#: The template, relative to the ``mcscale`` package.
TEMPLATE = "scenarios/templates/starter.toml"
#: The template's name line, replaced by the new file's name.
_NAME_LINE = 'name = "starter"'
#: Stands for the new file's name in the template's comments.
_FILE_NAME = "NAME.toml"


def template_text(name: str = "starter", file_name: str = _FILE_NAME) -> str:
    """Return the template scenario for a file, with its name filled in.

    Parameters
    ----------
    name : str, optional
        The scenario's ``[scenario] name``.
    file_name : str, optional
        The file's name, as the template's example commands write it.

    Returns
    -------
    str
        TOML text that :func:`mcscale.parse_scenario` accepts.
    """
    text = (resources.files("mcscale") / TEMPLATE).read_text(encoding="utf-8")
    # json.dumps writes a TOML basic string (quotes, backslashes and controls escaped) but for DEL
    quoted = json.dumps(name, ensure_ascii=False).replace("\x7f", "\\u007F")
    text = text.replace(_NAME_LINE, f"name = {quoted}", 1)
    return text.replace(_FILE_NAME, file_name)


def _error(message: str) -> int:
    print(f"mcscale: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    """Write the template to ``args.name`` (``.toml`` added when it has no suffix); return the exit code.

    Parameters
    ----------
    args : argparse.Namespace
        With ``name``, the file to write.

    Returns
    -------
    int
        0 when written; 2, with one line on stderr, when the file exists, its directory
        does not, or its suffix is not ``.toml``.
    """
    path = Path(args.name)
    if not path.name:
        return _error(f"{args.name!r}: give a file name, such as my_scenario.toml")
    if not path.suffix:
        path = path.with_name(path.name + ".toml")
    if path.suffix.lower() != ".toml":
        return _error(f"{path}: a scenario is a .toml file; use a name such as {path.stem}.toml")
    if path.exists() or path.is_symlink():
        return _error(f"{path}: exists; choose another name, or move the file away first (init never overwrites)")
    if not path.parent.is_dir():
        return _error(f"{path}: no such directory {str(path.parent)!r}")
    text = template_text(path.stem, shlex.quote(path.name))
    try:
        tomllib.loads(text)  # a file name can break a comment line (a newline in it)
        data = text.encode("utf-8")
    except (tomllib.TOMLDecodeError, UnicodeEncodeError):
        return _error(f"{path}: a file name that cannot stand in the template; use letters, digits, - and _")
    try:
        write_atomic(path, data)
    except OSError as exc:
        return _error(f"{path}: cannot write: {exc.strerror or exc}")
    print(f"wrote {path}: a template scenario, with each key's meaning, unit and source in its comments")
    print(f"next: mcscale run {shlex.quote(str(path))}")
    return EXIT_OK


def add_parser(commands: Any) -> None:
    """Register ``mcscale init`` on the subparsers object of the ``mcscale`` parser.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers`` returned.
    """
    init = commands.add_parser(
        "init",
        help="write a commented template scenario to start from",
        description="Write a template scenario with every section, each key's meaning and unit in comments, "
        "and the sources of its numbers. It never overwrites a file.",
    )
    init.add_argument("name", metavar="NAME.toml", help="the file to write (.toml is added when there is no suffix)")
    init.set_defaults(handler=run)

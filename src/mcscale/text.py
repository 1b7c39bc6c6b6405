"""Text that mcscale echoes back to a terminal: the one home of escaping and length limits.

Names, keys, questions and values come from files and command lines that may hold
newlines (which would forge a second ``mcscale: error:`` line), terminal escape
sequences, or ten thousand characters. Everything printed as a message goes through
:func:`printable`.
"""

from __future__ import annotations

import sys
import unicodedata

__all__ = ["ECHO_LIMIT", "printable", "say"]

#: Most characters of one message line; longer ones are cut in the middle, with an ellipsis.
ECHO_LIMIT = 400


def printable(text: object, limit: int = ECHO_LIMIT) -> str:
    r"""Return ``text`` on one line, control characters escaped, at most ``limit`` characters.

    Parameters
    ----------
    text : object
        Anything; its ``str()`` is used.
    limit : int, optional
        Most characters kept: the start and the end, joined by " … ".

    Examples
    --------
    >>> printable("a\nmcscale: error: forged")
    'a\\nmcscale: error: forged'
    >>> printable("\x1b[31mred")
    '\\x1b[31mred'
    """
    out = "".join(_escaped(c) for c in str(text))
    if len(out) <= limit:
        return out
    keep = (limit - 3) // 2
    return f"{out[:keep]} … {out[-keep:]}"


def _escaped(char: str) -> str:
    # Cc: C0/C1 controls (newline, escape, bell); Cf: invisible format characters (bidi overrides)
    if unicodedata.category(char) in ("Cc", "Cf"):
        return (
            repr(char)[1:-1]
            if char in "\n\r\t"
            else f"\\x{ord(char):02x}"
            if ord(char) < 256
            else f"\\u{ord(char):04x}"
        )
    return char


def say(kind: str, text: object) -> None:
    """Print one ``mcscale: KIND: TEXT`` line on stderr, ``text`` made :func:`printable`."""
    print(f"mcscale: {kind}: {printable(text)}", file=sys.stderr)

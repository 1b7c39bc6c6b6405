"""Text from users, echoed back: control characters escaped, one line, cut to a sane length.

The one home of that defence. Whatever a user wrote (a scenario name, a key, a value,
a question, a file name) passes through :func:`one_line` or :func:`quote` before it is
printed, so that it cannot move the cursor or colour the terminal (ANSI escapes),
forge a second ``mcscale: error:`` line (a newline), or fill the screen (a 10 kB
value). The command line also passes every error line it prints through
:func:`one_line`, as a backstop.
"""

from __future__ import annotations

import math
import re
import unicodedata

__all__ = ["LINE_LIMIT", "TEXT_LIMIT", "is_plain", "one_line", "quote"]

#: Longest echoed value or question [characters]; longer ones are cut with an ellipsis.
TEXT_LIMIT = 80
#: Longest error line [characters].
LINE_LIMIT = 400
#: Characters that move or restyle the terminal or break lines: C0 and C1 controls, DEL,
#: Unicode line and paragraph separators, bidirectional overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: object, limit: int | None = LINE_LIMIT) -> str:
    r"""Return ``text`` as one printable line: control characters escaped (``\n``, ``\x1b``), cut to ``limit``.

    Parameters
    ----------
    text : object
        What to echo (``str()`` of it).
    limit : int or None, optional
        Most characters kept; a longer text ends in an ellipsis. None keeps all.
    """
    escaped = _UNSAFE.sub(_escape, unicodedata.normalize("NFC", str(text)))
    return escaped if limit is None or len(escaped) <= limit else escaped[: limit - 1] + "…"


def is_plain(text: str, allow: str = "") -> bool:
    """Whether ``text`` holds no control character (nor line separator, nor bidi override) but those in ``allow``."""
    return all(char in allow for char in _UNSAFE.findall(text))


def quote(value: object, limit: int = TEXT_LIMIT) -> str:
    """Return a user's value quoted for a message: ``repr`` for strings, cut to ``limit`` with an ellipsis."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3 * limit:
        # str() of an int of more than 4300 digits raises: count its digits from its bits
        return f"an integer of about {round(value.bit_length() * math.log10(2))} digits"
    text = repr(value) if isinstance(value, str) else str(value)
    if isinstance(value, str) and len(value) > limit:
        text = repr(value[: limit - 1]) + "…"
    return one_line(text, limit + 4)

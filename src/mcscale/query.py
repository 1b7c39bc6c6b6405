"""The question language: text -> :class:`Query` -> an :class:`~mcscale.results.Answer`.

A small tokenizer and recursive-descent parser (never ``eval``). Keywords are
case-insensitive; numbers may be plain or scientific. The forms::

    P(METRIC >= THRESHOLD by YEAR)        P(METRIC <= THRESHOLD in YEAR)   (also > and <)
    year METRIC >= THRESHOLD              median year METRIC >= THRESHOLD
    quantiles METRIC in YEAR
    interval METRIC in YEAR [eti|hdi] [PROB]
    cost of THRESHOLD in YEAR

where THRESHOLD is a number in the metric's unit (for ``spend`` and ``cap`` a USD
amount may be written ``$10B``, ``500M``, ``$1T``), ``K x REF`` (a multiple of a
reference run: GPT-3, GPT-4 or the scenario's ``[reference]``), or ``requirement``
(the scenario's milestone requirement, compared draw by draw). ``>`` is read as
``>=`` and ``<`` as ``<=`` (the same probability for continuous quantities).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from mcscale.echo import TEXT_LIMIT, is_plain, one_line, quote
from mcscale.model.scenario import Scenario, ScenarioError
from mcscale.model.thresholds import QueryError, Threshold
from mcscale.numbers import LOG10_LIMIT
from mcscale.results.answer import Answer
from mcscale.sim.accumulators import CostSpec, ThresholdSpec, cost_spec, default_thresholds, threshold_spec
from mcscale.units import BUILTIN_REFERENCES, METRICS, USD_SUFFIXES

if TYPE_CHECKING:  # a query's answer from counts must not wait for xarray
    from mcscale.results.base import Result

__all__ = [
    "Query",
    "QuestionSyntaxError",
    "answer",
    "ask",
    "check_query",
    "check_scenario_questions",
    "parse_question",
    "scenario_queries",
    "scenario_references",
    "stream_request",
    "stream_specs",
]

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\$?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:[kMBT](?![A-Za-z0-9_]))?)"
    r"|(?P<op>>=|<=|≥|≤|>|<)|(?P<paren>[()])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.\-]*)|(?P<other>\S))"
)
#: Longest question [characters]: the longest form with a long reference name is under 100.
MAX_QUESTION = 500
#: Comparison operators as written -> as answered. ``>`` is read as ``>=`` and ``<`` as
#: ``<=``: for the continuous quantities of a forecast they have the same probability.
_OPERATORS = {">=": ">=", "≥": ">=", ">": ">=", "<=": "<=", "≤": "<=", "<": "<="}


class QuestionSyntaxError(ValueError):
    """A question that does not parse; ``str()`` shows it with a caret under the problem.

    Parameters
    ----------
    question : str
        The question as written.
    position, length : int
        Where the offending token starts, and its length.
    expected : str
        What the parser expected there.
    """

    def __init__(self, question: str, position: int, length: int, expected: str) -> None:
        self.question = question
        self.position = position
        self.expected = expected
        self.length = length
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """Return the message, the question (escaped, and cut around the problem) and a caret line under it."""
        question, position, length = self.question, self.position, self.length
        found = quote(question[position : position + length]) if length else "the end of the question"
        before = one_line(question[:position], None)
        marked = one_line(question[position : position + length], None) if length else ""
        shown = before + marked + one_line(question[position + length :], None)
        start = max(0, len(before) - TEXT_LIMIT // 2)
        window = shown[start : start + TEXT_LIMIT]
        head, tail = ("…" if start else ""), ("…" if start + TEXT_LIMIT < len(shown) else "")
        caret = " " * (len(head) + len(before) - start) + "^" * max(1, min(len(marked), TEXT_LIMIT))
        return [
            f"cannot parse question: expected {self.expected}, found {found}",
            f"  {head}{window}{tail}",
            f"  {caret}",
        ]


@dataclass(frozen=True)
class Query:
    """A parsed question.

    Parameters
    ----------
    kind : str
        ``probability``, ``crossing_year``, ``quantiles``, ``interval`` or ``cost``.
    text : str
        The question as written (whitespace trimmed).
    metric : str
        Trajectory variable (``physical_flop`` for cost).
    op : str
        ``>=`` or ``<=``.
    threshold : float, (float, str), "requirement" or None
    year : float or None
    by : bool
        "by YEAR" (running max over grid years) rather than "in YEAR".
    method : str
        ``eti`` or ``hdi``, for intervals.
    prob : float
        Interval probability.
    """

    kind: str
    text: str
    metric: str = "effective_flop"
    op: str = ">="
    threshold: Threshold | None = None
    year: float | None = None
    by: bool = False
    method: str = "eti"
    prob: float = 0.9


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokenize(question: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(question):
        kind = match.lastgroup
        if kind is None:
            continue
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
    return tokens


class _Parser:
    def __init__(self, question: str, references: tuple[str, ...]) -> None:
        self.question = question
        self.tokens = _tokenize(question)
        self.i = 0
        self.references = references

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def fail(self, expected: str) -> QuestionSyntaxError:
        token = self.peek()
        if token is None:
            return QuestionSyntaxError(self.question, len(self.question), 0, expected)
        return QuestionSyntaxError(self.question, token.position, len(token.text), expected)

    def word(self, *choices: str) -> str:
        token = self.peek()
        if token is None or token.kind != "word" or token.text.lower() not in choices:
            raise self.fail(" or ".join(repr(c) for c in choices))
        self.i += 1
        return token.text.lower()

    def accept(self, *choices: str) -> str | None:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() in choices:
            self.i += 1
            return token.text.lower()
        return None

    def symbol(self, kind: str, text: str) -> None:
        token = self.peek()
        if token is None or token.kind != kind or token.text != text:
            raise self.fail(repr(text))
        self.i += 1

    def number(self, what: str = "a number", money: bool = False) -> float:
        """Read a number; with ``money``, a USD amount may carry ``$`` and a suffix (``$10B``, ``500M``)."""
        token = self.peek()
        if token is None or token.kind != "number":
            raise self.fail(what)
        text = token.text
        if not money and (text.startswith("$") or text[-1] in USD_SUFFIXES):
            raise self.fail(what + " (a USD amount such as $10B only for spend or cap)")
        scale = USD_SUFFIXES.get(text[-1], 1.0)
        value = float(text.lstrip("$").rstrip("".join(USD_SUFFIXES))) * scale
        if not math.isfinite(value):
            raise self.fail("a finite number")
        self.i += 1
        return value

    def metric(self) -> str:
        token = self.peek()
        if token is None or token.kind != "word" or token.text.lower() not in METRICS:
            raise self.fail("a metric (known: " + ", ".join(METRICS) + ")")
        self.i += 1
        return token.text.lower()

    def op(self) -> str:
        token = self.peek()
        if token is None or token.kind != "op":
            raise self.fail("'>=', '>', '<=' or '<'")
        self.i += 1
        return _OPERATORS[token.text]

    def threshold(self, metric: str = "physical_flop") -> Threshold:
        if self.accept("requirement"):
            return "requirement"
        money = METRICS[metric] == "USD"
        value = self.number("a threshold (a number, K x REFERENCE, or requirement)", money=money)
        if value <= 0:
            self.i -= 1
            raise self.fail("a positive threshold")
        limits = f"between 1e-{LOG10_LIMIT:g} and 1e+{LOG10_LIMIT:g}"
        if abs(math.log10(value)) > LOG10_LIMIT:
            self.i -= 1
            raise self.fail(f"a threshold {limits}")
        if not self.accept("x", "×"):
            return value
        token = self.peek()
        known = {name.lower(): name for name in self.references}
        if token is None or token.kind != "word" or token.text.lower() not in known:
            raise self.fail("a reference (known: " + ", ".join(self.references) + ")")
        name = known[token.text.lower()]
        if (
            name in BUILTIN_REFERENCES
            and abs(math.log10(value * 1.0) + math.log10(BUILTIN_REFERENCES[name])) > LOG10_LIMIT
        ):
            self.i -= 2
            raise self.fail(f"a multiple whose threshold lies {limits} FLOP")
        self.i += 1
        return (value, name)

    def end(self) -> None:
        if self.peek() is not None:
            raise self.fail("the end of the question")

    def parse(self) -> Query:
        text = self.question.strip()
        first = self.peek()
        if first is None:
            raise self.fail("a question (P(...), year, median year, quantiles, interval, cost of)")
        head = first.text.lower() if first.kind == "word" else ""
        if head == "p":
            self.i += 1
            self.symbol("paren", "(")
            metric, op = self.metric(), self.op()
            threshold = self.threshold(metric)
            by = self.word("by", "in") == "by"
            year = self.number("a year")
            self.symbol("paren", ")")
            self.end()
            return Query("probability", text, metric, op, threshold, year, by)
        if head in ("year", "median"):
            self.i += 1
            if head == "median":
                self.word("year")
            metric, op = self.metric(), self.op()
            threshold = self.threshold(metric)
            self.end()
            return Query("crossing_year", text, metric, op, threshold)
        if head == "quantiles":
            self.i += 1
            metric = self.metric()
            self.word("in")
            year = self.number("a year")
            self.end()
            return Query("quantiles", text, metric, year=year)
        if head == "interval":
            self.i += 1
            metric = self.metric()
            self.word("in")
            year = self.number("a year")
            method = self.accept("eti", "hdi") or "eti"
            prob = 0.9
            if self.peek() is not None:
                prob = self.number("an interval probability such as 0.9")
                if not 0 < prob < 1:
                    self.i -= 1
                    raise self.fail("an interval probability in (0, 1)")
            self.end()
            return Query("interval", text, metric, year=year, method=method, prob=prob)
        if head == "cost":
            self.i += 1
            self.word("of")
            threshold = self.threshold()
            self.word("in")
            year = self.number("a year")
            self.end()
            return Query("cost", text, "physical_flop", threshold=threshold, year=year)
        raise self.fail("a question (P(...), year, median year, quantiles, interval, cost of)")


def parse_question(question: str, references: tuple[str, ...] | None = None) -> Query:
    """Parse one question.

    Parameters
    ----------
    question : str
        E.g. ``"P(effective_flop >= 1000 x GPT-4 by 2030)"``.
    references : tuple of str, optional
        Reference names ``K x REF`` may use (default: GPT-3, GPT-4).

    Returns
    -------
    Query

    Raises
    ------
    QuestionSyntaxError
        Showing the question with a caret under the offending word.
    """
    for position, char in enumerate(question):  # a question is one line: it is echoed in every answer
        if not is_plain(char, allow="\t"):
            raise QuestionSyntaxError(question, position, 1, "a printable character (a question is one line)")
    if len(question) > MAX_QUESTION:
        raise QuestionSyntaxError(
            question, MAX_QUESTION, len(question) - MAX_QUESTION, f"at most {MAX_QUESTION} characters"
        )
    return _Parser(question, references or tuple(BUILTIN_REFERENCES)).parse()


def scenario_references(scenario: Scenario) -> tuple[str, ...]:
    """Return the reference names a scenario's questions may use."""
    return tuple(dict.fromkeys([*BUILTIN_REFERENCES, scenario.reference_name]))


def scenario_queries(scenario: Scenario) -> list[Query]:
    """Return the scenario's ``[[questions]]`` as queries, one per "by" year."""
    references = scenario_references(scenario)
    queries = []
    for question in scenario.questions:
        if question.text:
            queries.append(parse_question(question.text, references))
            continue
        if question.multiple is not None:
            threshold = f"{question.multiple:g} x {question.reference or scenario.reference_name}"
        else:
            threshold = question.threshold if isinstance(question.threshold, str) else f"{question.threshold:g}"
        queries += [
            parse_question(f"P({question.metric} >= {threshold} by {year:g})", references) for year in question.years
        ]
    return queries


def check_scenario_questions(scenario: Scenario) -> None:
    """Check a scenario's ``[[questions]]`` against the scenario, with their key paths.

    Raises
    ------
    ScenarioError
        For a text question that does not parse or cannot be asked of the scenario.
    """
    references = scenario_references(scenario)
    problems = []
    for i, question in enumerate(scenario.questions):
        if not question.text:
            continue
        try:
            check_query(parse_question(question.text, references), scenario)
        except QuestionSyntaxError as exc:
            problems.append((f"questions[{i}].text", f"expected {exc.expected} at column {exc.position + 1}"))
        except QueryError as exc:
            problems.append((f"questions[{i}].text", str(exc)))
    if problems:
        raise ScenarioError(scenario.source, problems)


def check_query(query: Query, scenario: Scenario) -> None:
    """Check a query against a scenario before sampling.

    Raises
    ------
    QueryError
        For a year outside the horizon or off the grid, an unknown reference, or a
        requirement the scenario does not have.
    """
    if query.year is not None:
        if not scenario.start <= query.year <= scenario.end:
            raise QueryError(
                f"{query.text}: year {query.year:g} is outside the horizon {scenario.start:g}..{scenario.end:g}"
            )
        on_grid = abs(
            (query.year - scenario.start) / scenario.step - round((query.year - scenario.start) / scenario.step)
        )
        if not query.by and on_grid > 1e-9:
            raise QueryError(f"{query.text}: year {query.year:g} is not a grid year (step {scenario.step:g})")
    if isinstance(query.threshold, tuple) and query.threshold[1] not in scenario_references(scenario):
        raise QueryError(
            f"{query.text}: unknown reference {query.threshold[1]!r}; known: "
            + ", ".join(scenario_references(scenario))
        )
    if query.threshold == "requirement" and "milestone.requirement" not in scenario.priors:
        raise QueryError(f"{query.text}: the scenario has no [milestone] requirement")
    if isinstance(query.threshold, tuple) and query.metric not in ("effective_flop", "physical_flop"):
        raise QueryError(f"{query.text}: a multiple of a reference run is in FLOP; {query.metric} is not")


def answer(result: Result, query: Query) -> Answer:
    """Answer a parsed query from a result."""
    if query.kind == "probability":
        year = {"by": query.year} if query.by else {"in_year": query.year}
        return result.probability(query.metric, query.threshold, op=query.op, question=query.text, **year)
    if query.kind == "crossing_year":
        return result.crossing_year(query.metric, query.threshold, op=query.op, question=query.text)
    if query.kind == "quantiles":
        return result.quantiles(query.metric, query.year, question=query.text)
    if query.kind == "interval":
        return result.interval(query.metric, query.year, query.method, query.prob, question=query.text)
    return result.cost(query.threshold, query.year, question=query.text)


def ask(result: Result, question: str) -> Answer:
    """Parse a question and answer it from a result.

    Parameters
    ----------
    result : Result
    question : str
        A question in the query language.

    Returns
    -------
    Answer
    """
    query = parse_question(question, scenario_references(result.scenario))
    check_query(query, result.scenario)
    return answer(result, query)


def stream_specs(scenario: Scenario, queries: list[Query]) -> tuple[list[ThresholdSpec], list[CostSpec]]:
    """Thresholds and cost questions a streaming run must accumulate to answer ``queries``.

    Always includes the scenario's own ``[[questions]]``, effective FLOP at 10x to
    10000x its reference (the exceedance curves of plots and reports) and the
    milestone's requirement when there is one.

    Returns
    -------
    thresholds : list of mcscale.sim.accumulators.ThresholdSpec
    costs : list of mcscale.sim.accumulators.CostSpec
    """
    thresholds = default_thresholds(scenario)
    if "milestone.requirement" in scenario.priors:  # the milestone's figures need it
        thresholds.append(threshold_spec(scenario, scenario.milestone_metric, "requirement"))
    costs = []
    for query in [*scenario_queries(scenario), *queries]:
        if query.kind in ("probability", "crossing_year"):
            thresholds.append(threshold_spec(scenario, query.metric, query.threshold, query.op))
        elif query.kind == "cost":
            costs.append(cost_spec(scenario, query.threshold, query.year))
    return list(dict.fromkeys(thresholds)), list(dict.fromkeys(costs))


class StreamRequest(NamedTuple):
    """What a streaming run must count: the keyword arguments of :func:`mcscale.api.run` that say so."""

    thresholds: list[ThresholdSpec]
    costs: list[CostSpec]
    histograms: bool = True
    last_year: float | None = None


def stream_request(scenario: Scenario, queries: list[Query], figures: bool = True) -> StreamRequest:
    """Plan a streaming run from the questions it must answer.

    Asked only probabilities and costs (and no ``figures``), it counts just their
    thresholds and costs, histograms no variable or parameter, and stops at the last
    year any of them needs: the counts it shares with a full run are the same. Otherwise
    it counts all of :func:`stream_specs` and histograms everything, for quantiles,
    crossing years, summaries and figures.
    """
    lean = not figures and bool(queries) and all(q.kind in ("probability", "cost") for q in queries)
    if not lean:
        return StreamRequest(*stream_specs(scenario, queries))
    thresholds = [threshold_spec(scenario, q.metric, q.threshold, q.op) for q in queries if q.kind == "probability"]
    costs = [cost_spec(scenario, q.threshold, q.year) for q in queries if q.kind == "cost"]
    last_year = max(float(q.year) for q in queries)
    return StreamRequest(list(dict.fromkeys(thresholds)), list(dict.fromkeys(costs)), False, last_year)

"""Answers and stored arrays of the bundled scenarios, pinned to their values before the package was reorganised.

``tests/data/pinned_answers.json`` was written by the flat-module package (before the
subpackages) with the function below; a change of layout must not change a bit.
Regenerate it only for a deliberate change of the numbers, and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import mcscale
from mcscale.query import scenario_queries

PINNED = Path(__file__).parent / "data" / "pinned_answers.json"
QUESTIONS = [
    "P(effective_flop >= 1000 x GPT-4 by 2030)",
    "year effective_flop >= 10000 x GPT-4",
    "quantiles physical_flop in 2035",
    "interval spend in 2035 hdi 0.9",
    "cost of 1000 x GPT-4 in 2035",
]


def digest(tree) -> str:  # noqa: ANN001
    """SHA-256 of every stored variable's bytes, group by group, in name order."""
    h = hashlib.sha256()
    for group in ("prior", "trajectories", "summary", "accumulators"):
        if group in tree.children:
            ds = tree[group].to_dataset()
            for name in sorted(ds.data_vars):
                h.update(name.encode())
                h.update(np.ascontiguousarray(ds[name].values).tobytes())
    return h.hexdigest()


def pinned_record(name: str, mode: str) -> dict:
    scenario = mcscale.load_scenario(mcscale.bundled_scenarios()[name])
    result = mcscale.run(scenario, n_draws=30000, seed=11, mode=mode, chunk_size=8192)
    answers = {}
    for question in QUESTIONS + [q.text for q in scenario_queries(scenario)]:
        try:
            answer = mcscale.ask(result, question).to_dict()
        except mcscale.QueryError as exc:
            answer = {"error": type(exc).__name__}
        for diagnostic in ("ess", "rhat", "chunk_chi2", "chunk_dof", "chunk_p_value"):
            answer.pop(diagnostic, None)  # diagnostics of the chunks' agreement, not answers
        answers[question] = answer
    return {"digest": digest(result.tree), "answers": answers}


@pytest.mark.parametrize("mode", ["materialized", "stream"])
@pytest.mark.parametrize("name", ["baseline", "slowdown", "overhang", "eras"])
def test_bundled_answers_are_the_pinned_bits(name: str, mode: str) -> None:
    expected = json.loads(PINNED.read_text())[f"{name}/{mode}"]
    got = json.loads(json.dumps(pinned_record(name, mode)))
    assert got["answers"] == expected["answers"]
    assert got["digest"] == expected["digest"]

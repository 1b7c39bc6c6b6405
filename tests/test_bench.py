"""``mcscale bench`` in a tiny mode: the record's fields, positive rates, the targets' logic.

No assertion here depends on a timing's value, only on its presence and sign.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import mcscale
from mcscale import bench
from mcscale.bench import measure
from mcscale.bench.probes import _python
from mcscale.cli import main

TINY = 20_000


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "record.json"
    argv = ["bench", "--draws", str(TINY), "--repeats", "1", "--no-subprocess", "--no-squigglepy"]
    assert main([*argv, "--json-out", str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_record_has_the_fields(record: dict) -> None:
    for key in ("created", "command", "mcscale_version", "machine", "throughput", "skipped", "ratios", "targets"):
        assert key in record
    assert record["scenario"] == "baseline.toml"
    assert record["n_years"] == 36
    assert record["normals_per_draw"] == 9
    assert record["sizes"] == {"small": TINY, "large": 10 * TINY}
    assert record["command"].startswith("mcscale bench --draws 20000")
    assert record["squigglepy"] == {"status": "skipped"}
    assert "compile" not in record and "memory" not in record and "cli" not in record


def test_throughput_rows_cover_modes_sizes_and_threads(record: dict) -> None:
    rows = {(r["mode"], r["n_draws"], r["threads"]) for r in record["throughput"]}
    for threads in (1, 2):
        assert ("materialized", TINY, threads) in rows
        assert ("stream", TINY, threads) in rows
        assert ("stream", 10 * TINY, threads) in rows
        assert ("rng", TINY, threads) in rows
        assert ("rng", 10 * TINY, threads) in rows
    assert ("numpy", TINY, 1) in rows
    assert ("materialized", 10 * TINY, 1) not in rows
    for row in record["throughput"]:
        assert row["total_s"] > 0 and row["draws_per_s"] > 0 and row["peak_rss_mib"] > 0
        assert math.isclose(row["draw_years_per_s"], 36 * row["draws_per_s"])
        if row["engine"] == "mcscale":
            assert 0 < row["kernel_s"] <= row["total_s"] and row["kernel_draws_per_s"] > 0
    skipped = {(s["label"], s["n_draws"]) for s in record["skipped"]}
    assert ("mcscale materialized", 10 * TINY) in skipped


def test_ratios_and_targets(record: dict) -> None:
    ratios = record["ratios"]
    for key in ("stream_2t_vs_numpy_2e5", "stream_vs_rng_2t_2e5", "speedup_2t_stream_2e5", "numpy_quantile_share"):
        assert ratios[key]["value"] > 0
    numpy_, rng, memory, speedup, cli, version, query = record["targets"]
    for judged in (numpy_, rng, speedup):
        assert judged["passed"] in (True, False) and judged["measured"] > 0
    # no subprocess probes: the memory, CLI and start-up targets are not measured, not judged
    for probe in (memory, cli, version, query):
        assert probe["passed"] is None and probe["measured_text"] == "not measured"


def test_targets_are_judged_on_probe_results() -> None:
    rows = [
        {"mode": "stream", "n_draws": 10, "threads": 1, "draws_per_s": 100.0, "kernel_draws_per_s": 120.0},
        {"mode": "stream", "n_draws": 10, "threads": 2, "draws_per_s": 180.0, "kernel_draws_per_s": 200.0},
        {"mode": "rng", "n_draws": 10, "threads": 2, "draws_per_s": 400.0},
        {"mode": "numpy", "n_draws": 1, "threads": 1, "draws_per_s": 10.0, "quantiles_s": 0.8, "total_s": 1.0},
    ]
    record = {
        "throughput": rows,
        "sizes": {"small": 1, "large": 10},
        "memory": {"runs": [{"n_draws": 10**8, "above_baseline_mb": 150.0}]},
        "cli": {"command": "mcscale run baseline.toml --draws 100000", "first_s": 9.0, "second_s": 3.5},
        "startup": {
            "python_s": 0.02,
            "version": {"command": "mcscale --version", "wall_s": 0.2},
            "query": {"command": "mcscale query ...", "wall_s": 2.0},
        },
    }
    ratios, targets = bench.derive(record)
    assert ratios["stream_2t_vs_numpy_1e1"]["value"] == pytest.approx(18.0)
    assert ratios["stream_2t_vs_numpy_1e1"]["numpy_draws"] == 1
    assert ratios["stream_vs_rng_2t_1e1"]["value"] == pytest.approx(0.45)
    assert ratios["speedup_2t_stream_1e1"]["value"] == pytest.approx(1.8)
    assert [t["passed"] for t in targets] == [True, True, True, True, False, True, False]
    assert ratios["warm_query_s"]["value"] == 2.0
    assert "numpy at 1e0" in targets[0]["note"]


def test_sizes_and_counts() -> None:
    assert [bench.format_draws(n) for n in (10**6, 20_000, 250_000)] == ["1e6", "2e4", "2.5e5"]
    assert bench._count("1e6") == 10**6
    with pytest.raises(Exception, match="positive integer"):
        bench._count("1.5")


def test_normals_per_draw_counts_sampled_priors() -> None:
    scenario = mcscale.load_scenario(bench.scenario_path())
    assert measure.normals_per_draw(scenario) == 9
    assert bench.scenario_path().name == "baseline.toml"


def test_stream_memory_probe_reports_its_own_peak() -> None:
    memory = bench.measure_stream_memory(bench.scenario_path(), [5000], threads=2)
    assert memory["baseline_mib"] > 0
    (run,) = memory["runs"]
    assert run["n_draws"] == 5000 and run["peak_rss_mib"] > 0
    assert run["above_baseline_mb"] == pytest.approx(run["above_baseline_mib"] * 2**20 / 1e6)


def _has_vmhwm() -> bool:
    status = Path("/proc/self/status")
    return status.exists() and "VmHWM:" in status.read_text()


@pytest.mark.skipif(not _has_vmhwm(), reason="needs Linux /proc/self/status VmHWM")
def test_a_probe_does_not_inherit_the_parents_peak() -> None:
    # ru_maxrss of a spawned child starts at its parent's peak; the probe must not.
    ballast = np.ones(500 * 2**20 // 8)  # 500 MiB resident in this process
    parent = bench.peak_rss_mib()
    child = _python("import json; from mcscale.bench import peak_rss_mib; print(json.dumps(peak_rss_mib()))")
    assert parent > 500 > child + 100
    del ballast


def test_default_json_path_is_in_the_checkout(tmp_path: Path) -> None:
    import datetime as dt

    path = bench.default_json_path(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    assert path.name in ("20260102T030405Z.json", "mcscale-bench-20260102T030405Z.json")


@pytest.mark.parametrize(("load", "warned"), [(0.3, False), (1.2, True)])
def test_table_warns_when_the_machine_was_busy(record: dict, load: float, warned: bool) -> None:
    import io

    busy = json.loads(json.dumps(record))
    busy["machine"].update(cpu_count=2, load_average=[load, load, load])
    out = io.StringIO()
    bench.print_table(busy, file=out)
    assert ("WARNING: load average" in out.getvalue()) is warned

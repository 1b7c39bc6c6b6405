"""Runs on dask.distributed: the same bits as a local run, whatever the workers do.

The clusters are LocalClusters of worker processes on 127.0.0.1, without dashboards.
"""

import ast
import importlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from distributed import Client, LocalCluster

import mcscale
from mcscale.analysis import sensitivity as analysis
from mcscale.cli import main
from mcscale.query import ask, parse_question, scenario_references, stream_request, stream_specs
from mcscale.sim import dask_executor, engine
from mcscale.sim.engine import simulate, simulate_stream
from mcscale.stats import column_quantiles

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "mcscale"
N = 300_000
CHUNK = 16_384  # 20 chunks of 15,000 draws
SEED = 5
QUESTIONS = [
    "P(effective_flop >= 1e31 by 2030)",
    "P(spend <= 2e10 in 2031)",
    "year effective_flop >= 1e30",
    "year physical_flop >= 1e29",
    "quantiles physical_flop in 2030",
    "quantiles spend in 2045",
]


def start_cluster(n_workers: int) -> tuple[LocalCluster, Client]:
    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # HTTP routes on a free loopback port, not 8787
    )
    client = Client(cluster)
    client.run(importlib.import_module, "mcscale.sim.dask_executor")  # each worker imports mcscale now, not in a test
    return cluster, client


def stop_cluster(cluster: LocalCluster, client: Client) -> None:
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def client1():
    cluster, client = start_cluster(1)
    yield client
    stop_cluster(cluster, client)


@pytest.fixture(scope="module")
def client2():
    cluster, client = start_cluster(2)
    yield client
    stop_cluster(cluster, client)


@pytest.fixture(scope="module")
def scenario():
    return mcscale.load_scenario(ROOT / "scenarios" / "baseline.toml")


@pytest.fixture(scope="module")
def specs(scenario):
    queries = [parse_question(q, scenario_references(scenario)) for q in QUESTIONS]
    return stream_specs(scenario, queries)


@pytest.fixture(scope="module")
def local_stream(scenario, specs):
    return simulate_stream(scenario, N, seed=SEED, chunk_size=CHUNK, thresholds=specs[0], costs=specs[1])


def same_stream(a, b) -> bool:
    """Every accumulator and the moments, bit for bit."""
    counts = all(np.array_equal(x, y) for x, y in zip(a.counts, b.counts, strict=True))
    return counts and np.array_equal(a.moments, b.moments) and a.layout == b.layout


def same_group(a: xr.Dataset, b: xr.Dataset) -> bool:
    names_match = sorted(a.variables) == sorted(b.variables)
    return names_match and all(np.array_equal(a[name].values, b[name].values) for name in a.variables)


# --------------------------------------------------------------------------- #
# Streaming: the same bits on 1 and 2 workers, whatever the task size           #
# --------------------------------------------------------------------------- #


def test_streaming_answers_and_accumulators_equal_a_local_run_on_one_and_two_workers(client1, client2, scenario, specs):
    thresholds, costs = specs
    options = {"seed": SEED, "chunk_size": CHUNK, "mode": "stream", "thresholds": thresholds, "costs": costs}
    local = mcscale.run(scenario, N, **options)
    progress = []
    one = mcscale.run(scenario, N, client=client1, **options)
    two = mcscale.run(scenario, N, client=client2, progress=lambda done, n: progress.append((done, n)), **options)
    for result in (one, two):
        assert same_group(result.tree["accumulators"].to_dataset(), local.tree["accumulators"].to_dataset())
        assert same_group(result.summary, local.summary)
        for question in QUESTIONS:
            assert ask(result, question).to_dict() == ask(local, question).to_dict(), question
    # progress comes as tasks finish, up to every draw
    done = [d for d, _ in progress]
    assert done == sorted(done) and progress[-1] == (N, N) and len(progress) > 1


@pytest.mark.parametrize("chunks_per_task", [1, 7])
def test_any_task_size_and_finishing_order_gives_the_same_bits(client2, scenario, specs, local_stream, chunks_per_task):
    run = dask_executor.simulate_stream(
        client2, scenario, N, seed=SEED, chunk_size=CHUNK, thresholds=specs[0], costs=specs[1],
        chunks_per_task=chunks_per_task,
    )  # fmt: skip
    assert same_stream(run, local_stream)


def test_a_lean_streaming_run_on_the_cluster_gives_the_local_bits(client2, scenario):
    questions = ["P(effective_flop >= 1000 x GPT-4 by 2030)", "cost of 1e27 in 2028"]
    request = stream_request(scenario, [parse_question(q, scenario_references(scenario)) for q in questions], False)
    options = {"seed": SEED, "chunk_size": CHUNK, **request._asdict()}
    remote = dask_executor.simulate_stream(client2, scenario, N, chunks_per_task=3, **options)
    local = simulate_stream(scenario, N, **options)
    assert same_stream(remote, local) and remote.counts.histogram.size == 0 and remote.stream.n_steps == 6


def test_moments_are_added_in_chunk_order_whatever_order_batches_arrive_in():
    rng = np.random.default_rng(0)
    per_chunk = rng.normal(size=(12, 3, 4, 2)) * 10.0 ** rng.integers(-8, 8, size=(12, 3, 4, 2))
    expected = np.zeros((3, 4, 2))
    for moments in per_chunk:
        expected += moments
    total = dask_executor._ChunkOrderSum((3, 4, 2))
    for first in (9, 3, 0, 6):  # batches of three chunks, out of order
        total.add(first, per_chunk[first : first + 3])
    assert np.array_equal(total.total, expected)


def test_task_size_keeps_threads_busy_and_tasks_bounded():
    assert dask_executor.task_chunks(20, 2) == 2  # four tasks per thread
    assert dask_executor.task_chunks(10**5, 2) == dask_executor.MAX_CHUNKS_PER_TASK
    assert dask_executor.task_chunks(3, 64) == 1


# --------------------------------------------------------------------------- #
# Losing workers                                                               #
# --------------------------------------------------------------------------- #


def test_killing_a_worker_during_a_run_changes_nothing(client2, scenario, specs, local_stream):
    victim = sorted(client2.run(os.getpid).values())[0]
    killed = []

    def kill_once(done: int, n: int) -> None:
        if not killed:
            os.kill(victim, signal.SIGKILL)
            killed.append(done)

    run = dask_executor.simulate_stream(
        client2, scenario, N, seed=SEED, chunk_size=CHUNK, thresholds=specs[0], costs=specs[1],
        chunks_per_task=1, progress=kill_once,
    )  # fmt: skip
    assert killed and killed[0] < N  # it died with tasks left to run
    assert victim not in client2.run(os.getpid).values()
    assert same_stream(run, local_stream)
    client2.wait_for_workers(2, timeout=120)  # its nanny starts another: the next tests have two again


def test_a_run_left_without_workers_fails_in_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(dask_executor, "NO_WORKER_SECONDS", 1.0)
    monkeypatch.setattr(dask_executor, "POLL_SECONDS", 0.2)
    cluster, client = start_cluster(0)
    try:
        out = tmp_path / "run.nc"
        args = ["run", "baseline", "--stream", "--draws", "2000", "--scheduler", cluster.scheduler_address]
        assert main([*args, "-o", str(out)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("mcscale: error: ") and "no worker" in err[0]
        assert list(tmp_path.iterdir()) == []
    finally:
        stop_cluster(cluster, client)


def test_workers_that_leave_mid_run_end_it_with_a_cluster_error(scenario, monkeypatch):
    monkeypatch.setattr(dask_executor, "NO_WORKER_SECONDS", 1.0)
    monkeypatch.setattr(dask_executor, "POLL_SECONDS", 0.2)
    cluster, client = start_cluster(1)
    try:

        def leave(done: int, n: int) -> None:
            cluster.scale(0)

        with pytest.raises(dask_executor.ClusterError, match="no worker"):
            dask_executor.simulate_stream(
                client, scenario, N, seed=SEED, chunk_size=CHUNK, chunks_per_task=1, progress=leave
            )
    finally:
        stop_cluster(cluster, client)


def test_a_worker_with_another_mcscale_is_refused(client1, scenario, monkeypatch):
    monkeypatch.setattr(dask_executor, "__version__", "0.0.0+other")  # this process; the workers keep theirs
    with pytest.raises(dask_executor.ClusterError, match="the same version must run everywhere"):
        dask_executor.simulate_stream(client1, scenario, 20_000, chunk_size=CHUNK)


# --------------------------------------------------------------------------- #
# Materialized: lazy arrays, exact summaries, zarr                              #
# --------------------------------------------------------------------------- #


def test_lazy_materialized_arrays_equal_a_local_run(client2, scenario):
    local = simulate(scenario, 40_000, seed=SEED, chunk_size=8_000)
    lazy = dask_executor.simulate(scenario, 40_000, seed=SEED, chunk_size=8_000, chains=2)
    assert lazy.trajectories.chunks[1] == (2, 2, 1)  # blocks of whole chains
    parameters, trajectories = dask_executor.compute(lazy.parameters, lazy.trajectories)
    assert np.array_equal(parameters, local.parameters) and np.array_equal(trajectories, local.trajectories)


def test_exact_column_quantiles_of_awkward_columns(client2):
    import dask.array as da

    rng = np.random.default_rng(1)
    values = rng.normal(30.0, 2.0, size=(8, 3000, 7))
    values[..., 1] = 26.5  # constant
    values[..., 2] = np.round(values[..., 2])  # heavy ties
    values[..., 3] = rng.standard_cauchy(size=(8, 3000))  # both signs, far tails
    values[::3, ::7, 4] = np.inf
    values[1::3, ::5, 4] = -np.inf
    values[0, :, 5] += 50.0  # the pilot (block 0) is far from the rest: its windows miss
    values[..., 6] = rng.choice([-0.0, 0.0, 1e-300, -1e-300, 5e-324], size=(8, 3000))
    q = np.array([0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0, 0.3333])
    lazy = da.from_array(values, chunks=(1, -1, -1))
    with np.errstate(invalid="ignore"):  # inf - inf between two infinite order statistics, in both
        (got,) = dask_executor.column_quantiles([lazy], q)
        expected = column_quantiles(values, q)
    assert np.array_equal(got, expected, equal_nan=True)


def test_zarr_round_trip_of_a_lazy_run_has_the_values_of_the_netcdf_path(client2, scenario, tmp_path, monkeypatch):
    import zarr

    n, chunk = 30_000, 6_000  # 5 chunks
    monkeypatch.setattr(engine, "BLOCK_BYTES", 2 * 8 * chunk * 36)  # blocks and zarr chunks of two chains
    lazy = mcscale.run(scenario, n, seed=SEED, chunk_size=chunk, client=client2)
    assert lazy.trajectories["spend"].chunks[0] == (2, 2, 1)
    assert lazy.is_lazy and lazy.trajectories["spend"].chunks is not None
    lazy.to_zarr(tmp_path / "lazy.zarr")
    assert lazy.is_lazy  # written by the workers, not gathered here
    local = mcscale.run(scenario, n, seed=SEED, chunk_size=chunk)
    local.to_netcdf(tmp_path / "local.nc")
    local.to_zarr(tmp_path / "local.zarr")  # zarr is an output of local runs too
    from_nc = mcscale.open_result(tmp_path / "local.nc")
    for path in ("lazy.zarr", "local.zarr"):
        from_zarr = mcscale.open_result(tmp_path / path)
        assert isinstance(from_zarr, mcscale.MaterializedResult)
        for group in ("prior", "trajectories", "summary"):
            assert same_group(from_zarr.tree[group].to_dataset(), from_nc.tree[group].to_dataset()), (path, group)
        volatile = {"created", "sampling_seconds"}
        assert {k: v for k, v in from_zarr.attrs.items() if k not in volatile} == {
            k: v for k, v in from_nc.attrs.items() if k not in volatile
        }
        for question in QUESTIONS:
            assert ask(from_zarr, question).to_dict() == ask(from_nc, question).to_dict(), question
        store = zarr.open_group(tmp_path / path, mode="r")
        assert store["trajectories/spend"].chunks == (2, chunk, 36)  # whole chains
        assert store["prior/spend.initial"].chunks == (2, chunk)
    # answers of the lazy result itself: its draws load once, then it answers as the local run
    assert ask(lazy, QUESTIONS[0]).to_dict() == ask(local, QUESTIONS[0]).to_dict() and not lazy.is_lazy


def test_cli_writes_zarr_on_a_cluster_and_answers_from_it(client2, tmp_path, capsys):
    out = tmp_path / "run.zarr"
    common = ["--draws", "30000", "--seed", "2"]
    assert main(["run", "baseline", *common, "--scheduler", client2.scheduler.address, "-o", str(out)]) == 0
    assert main(["run", "baseline", *common, "-o", str(tmp_path / "run.nc")]) == 0
    capsys.readouterr()
    answers = []
    for path in (out, tmp_path / "run.nc"):
        assert main(["query", "--from", str(path), QUESTIONS[0], QUESTIONS[4]]) == 0
        answers.append(capsys.readouterr().out)
    assert answers[0] == answers[1]
    assert main(["run", "baseline", "--draws", "100", "-o", str(out)]) == 0  # a store is replaced
    assert mcscale.open_result(out).n_draws == 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.nc", "run.zarr"]  # no temporary left
    (tmp_path / "not.zarr").mkdir()
    (tmp_path / "not.zarr" / "keep.txt").write_text("mine")
    assert main(["run", "baseline", "--draws", "100", "-o", str(tmp_path / "not.zarr")]) == 2
    assert "exists and is not a zarr store" in capsys.readouterr().err
    assert (tmp_path / "not.zarr" / "keep.txt").read_text() == "mine"


# --------------------------------------------------------------------------- #
# Sensitivity on a cluster                                                     #
# --------------------------------------------------------------------------- #


def test_sensitivity_on_two_workers_equals_the_threaded_run(client2, scenario):
    question = "P(effective_flop >= 1e30 by 2032)"
    options = {"n_draws": 40_000, "seed": 3}  # 3 evaluation chunks per design matrix: several tasks each
    local = analysis.tornado(scenario, question, threads=2, **options)
    remote = analysis.tornado(scenario, question, client=client2, **options)
    assert [(b.name, b.low, b.high, b.mcse) for b in remote.bars] == [
        (b.name, b.low, b.high, b.mcse) for b in local.bars
    ]
    assert remote.base == local.base
    local_sobol = analysis.sobol(scenario, question, n_bootstrap=20, threads=1, **options)
    remote_sobol = analysis.sobol(scenario, question, n_bootstrap=20, client=client2, **options)
    assert remote_sobol.indices == local_sobol.indices


def test_cli_sensitivity_takes_the_scheduler(client2, capsys):
    args = ["sensitivity", "baseline", "year effective_flop >= 1e30", "--draws", "20000", "--json"]
    assert main(args) == 0
    local = capsys.readouterr().out
    assert main([*args, "--scheduler", client2.scheduler.address]) == 0
    remote = capsys.readouterr().out
    assert remote == local and len(local.splitlines()) >= 5  # one JSON record per prior, the same bits


# --------------------------------------------------------------------------- #
# Without dask                                                                 #
# --------------------------------------------------------------------------- #


def test_cluster_without_dask_says_how_to_install_it(monkeypatch, capsys):
    import mcscale.sim

    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    monkeypatch.delitem(sys.modules, "mcscale.sim.dask_executor")
    monkeypatch.delattr(mcscale.sim, "dask_executor")
    args = ["query", "baseline", "P(effective_flop >= 1e31 by 2030)", "--stream", "--draws", "1000"]
    assert main([*args, "--cluster", "local:2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--cluster needs dask.distributed" in err[0] and "pip install 'mcscale[dask]'" in err[0]


def test_bad_input_fails_before_a_cluster_starts(monkeypatch, capsys):
    def refuse(**_: object) -> None:
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(dask_executor, "connect", refuse)
    assert main(["query", "baseline", "P(effective_flops >= 1e31 by 2030)", "--cluster", "local:2"]) == 2
    assert "cannot parse question" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["local", "local:0", "remote:2", "local:x"])
def test_cluster_takes_local_n(value, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["run", "baseline", "--cluster", value])
    assert stop.value.code == 2 and "must be local:N" in capsys.readouterr().err


def dask_imports(node: ast.AST) -> list[int]:
    """Lines that import dask or distributed, leaving out ``if TYPE_CHECKING:`` blocks (type hints)."""
    if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
        return [line for child in node.orelse for line in dask_imports(child)]
    names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
    names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
    lines = [node.lineno] if any(n.split(".")[0] in ("dask", "distributed") for n in names) else []
    return lines + [line for child in ast.iter_child_nodes(node) for line in dask_imports(child)]


def test_only_the_executor_imports_dask_and_a_local_run_never_does():
    wrong = []
    for path in SOURCE.rglob("*.py"):
        if path.name != "dask_executor.py":
            wrong += [f"{path.relative_to(SOURCE)}:{line}" for line in dask_imports(ast.parse(path.read_text()))]
    assert not wrong
    # xarray itself imports dask.array, where it is installed, to recognise dask arrays in any
    # Variable: what is checked is that mcscale's executor, distributed and zarr stay out
    code = (
        "import sys\n"
        "import mcscale\n"
        "print([m for m in ('dask', 'distributed', 'zarr') if m in sys.modules])\n"
        "from mcscale.cli import main\n"
        "mcscale.run('baseline', 2000, mode='stream')\n"
        "mcscale.run('baseline', 2000).summary\n"
        "main(['query', 'baseline', 'P(effective_flop >= 1e31 by 2030)', '--draws', '2000'])\n"
        "print([m for m in ('mcscale.sim.dask_executor', 'distributed', 'zarr') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "[]" and lines[-1] == "[]"

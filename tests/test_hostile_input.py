"""Hostile and careless input: each family refused with exit 2, one line naming the file, key or flag,
no traceback, nothing written and no existing file changed.

The table :data:`BAD_SCENARIOS` and :data:`BAD_COMMANDS` name one fixture per way in;
the property-based tests at the end throw generated scenarios and questions at the
loader and the command line.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

import mcscale
from mcscale.cli import main

SMALL = """\
[scenario]
name = "small"
start = 2025
end = 2035

[spend]
initial = { dist = "lognormal", p5 = 4e8, p95 = 4e9 }
doubling_time = { dist = "lognormal", p5 = 0.5, p95 = 1.0 }

[hardware]
flop_per_usd = { dist = "lognormal", p5 = 8e17, p95 = 2.4e18 }
doubling_time = 2.0

[utilization]
value = 0.3

[[questions]]
text = "P(effective_flop >= 1e28 by 2030)"
"""


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links as links) -> a digest of its bytes."""
    out = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            out[key] = "link:" + os.readlink(path)
        elif path.is_file():
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[key] = "dir"
    return out


def invoke(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own errors
        return exc.code if isinstance(exc.code, int) else 1


def refused(folder: Path, argv: list[str], capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    """Run ``argv`` in ``folder``: exit 2, one stderr line holding every fragment, nothing written or changed."""
    before = snapshot(folder)
    code = invoke(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("mcscale: error:") or ": error:" in line]
    assert len(errors) == 1, lines
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    assert snapshot(folder) == before
    return errors[0]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "small.toml").write_text(SMALL, encoding="utf-8")
    (tmp_path / "other.toml").write_text(SMALL.replace('"small"', '"other"'), encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.toml").symlink_to("small.toml")
    return tmp_path


# -- data loss: an output that is an input, an extension the command does not write -------------


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["report", "small.toml", "-o", "small.toml"], ("small.toml", "is an input")),
        (["report", "small.toml", "-o", "link.toml"], ("link.toml", "is an input")),
        (["report", "link.toml", "-o", "small.toml"], ("small.toml", "is an input")),
        (["report", "small.toml", "-o", "sub/../small.toml"], ("sub/../small.toml", "is an input")),
        (["compare", "small.toml", "other.toml", "-o", "other.toml"], ("other.toml", "is an input")),
        (["plot", "small.toml", "-o", "./small.toml"], ("small.toml", "is an input")),
        (["run", "small.toml", "-o", "small.toml"], ("small.toml", "is an input")),
        (["report", "small.toml", "-o", "report.exe"], ("report.exe", "writes .html, .htm files, not '.exe'")),
        (["compare", "small.toml", "other.toml", "-o", "c.png"], ("c.png", "not '.png'")),
        (["plot", "small.toml", "-o", "fan.html"], ("fan.html", "writes .png, .svg files")),
        (["run", "small.toml", "-o", "out"], ("out", "not no extension")),
        (["fit", "-o", "block.exe"], ("block.exe", "writes .toml files")),
        (["backtest", "small.toml", "--as-of", "2020", "-o", "small.toml"], ("small.toml", "is an input")),
    ],
    ids=lambda v: "_".join(v) if isinstance(v, list) else None,
)
def test_an_output_that_is_an_input_or_of_a_foreign_kind_is_refused(folder, capsys, argv, fragments):
    refused(folder, argv, capsys, *fragments)


def test_report_onto_its_input_leaves_the_input_byte_identical(folder, capsys):
    before = (folder / "small.toml").read_bytes()
    refused(folder, ["report", "small.toml", "-o", "small.toml", "--draws", "100"], capsys, "is an input")
    refused(folder, ["report", str(folder / "link.toml"), "-o", "small.toml"], capsys, "is an input")
    assert (folder / "small.toml").read_bytes() == before
    os.link(folder / "small.toml", folder / "hard.toml")  # a hard link is the same file too
    refused(folder, ["report", "small.toml", "-o", "hard.toml"], capsys, "is an input")


def test_a_bundled_scenario_named_by_name_is_an_input():
    from mcscale.cli.common import UsageError, check_output
    from mcscale.scenario_file import bundled_scenarios

    target = bundled_scenarios()["baseline"]
    with pytest.raises(UsageError, match="is an input"):
        check_output(str(target), ["baseline"])
    assert check_output(str(target.with_name("elsewhere.toml")), ["baseline"]) is not None


# -- results read back: corrupted, foreign, incomplete ---------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("saved")
    scenario = mcscale.parse_scenario(SMALL, "small.toml")
    out = {}
    for mode in ("materialized", "stream"):
        result = mcscale.run(scenario, n_draws=400, seed=1, mode=mode)
        out[mode] = result.to_netcdf(folder / f"{mode}.nc")
    return out


def query_from(folder: Path, path: Path, capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    return refused(folder, ["query", "--from", str(path), "P(effective_flop >= 1e28 by 2030)"], capsys, *fragments)


@pytest.mark.parametrize(
    ("mode", "variable", "index"),
    [
        ("materialized", "trajectories/effective_flop", (0, 7, 3)),
        ("materialized", "prior/spend.initial", (0, 3)),
        ("stream", "accumulators/exceed_by", (0, 5)),
        ("stream", "accumulators/histogram_spend", (2, 100)),
    ],
)
def test_a_result_changed_in_place_is_refused(saved, tmp_path, capsys, mode, variable, index):
    copy = tmp_path / "run.nc"
    copy.write_bytes(saved[mode].read_bytes())
    assert invoke(["query", "--from", str(copy), "P(effective_flop >= 1e28 by 2030)"]) == 0  # intact: answered
    capsys.readouterr()
    with h5py.File(copy, "r+") as handle:
        values = handle[variable][...]
        values[index] += 1
        handle[variable][...] = values
    query_from(tmp_path, copy, capsys, str(copy), "corrupted", f"/{variable}")
    with pytest.raises(mcscale.QueryError, match="corrupted"):
        mcscale.open_result(copy)


def test_changed_attrs_are_refused(saved, tmp_path, capsys):
    tree = xr.open_datatree(saved["materialized"], engine="h5netcdf").load()
    tree.attrs["seed"] = 99  # a different seed: the answers' provenance would lie
    tree.to_netcdf(tmp_path / "seed.nc", engine="h5netcdf")
    query_from(tmp_path, tmp_path / "seed.nc", capsys, "seed.nc: corrupted: the attributes of /")


def test_files_not_from_mcscale_are_named_so(saved, tmp_path, capsys):
    xr.Dataset({"x": ("d", np.arange(3))}, attrs={"title": "other"}).to_netcdf(tmp_path / "other.nc")
    query_from(tmp_path, tmp_path / "other.nc", capsys, "other.nc: not an mcscale result: no scenario_text")
    for mode, group in (("materialized", "trajectories"), ("stream", "accumulators")):
        tree = xr.open_datatree(saved[mode], engine="h5netcdf").load()
        del tree[group]
        tree.to_netcdf(tmp_path / f"{mode}.nc", engine="h5netcdf")
        query_from(tmp_path, tmp_path / f"{mode}.nc", capsys, "not an mcscale result: no group " + group)
    tree = xr.open_datatree(saved["stream"], engine="h5netcdf").load()
    del tree.attrs["checksums"]
    tree.to_netcdf(tmp_path / "nosum.nc", engine="h5netcdf")
    query_from(tmp_path, tmp_path / "nosum.nc", capsys, "not an mcscale result: no checksums")
    (tmp_path / "text.nc").write_text("hello")
    query_from(tmp_path, tmp_path / "text.nc", capsys, "text.nc: cannot read as netCDF")


def test_the_checksums_cover_every_variable_and_survive_a_round_trip(saved):
    import json

    from mcscale.results.integrity import checksums

    for path in saved.values():
        tree = xr.open_datatree(path, engine="h5netcdf").load()
        recorded = json.loads(tree.attrs["checksums"])
        assert recorded == checksums(tree)
        variables = {f"{n.path.rstrip('/')}/{v}" for n in tree.subtree for v in n.variables}
        assert variables <= set(recorded)
        result = mcscale.open_result(path)
        assert "checksums" not in result.attrs  # verified, then dropped: a rewrite records its own

"""Estimators from hardware facts: DESIGN.md section 7's worked examples, closed forms, the chip table,
inline priors and durations, the CLI, and the ``[estimate]`` block of a scenario file."""

import json
import math

import numpy as np
import pytest
from scipy import stats

import mcscale
from mcscale import ScenarioError, estimate, parse_scenario
from mcscale.cli import main
from mcscale.estimate import EstimateError
from mcscale.estimate.inline import _inline_table
from mcscale.units import DAYS_PER_YEAR, PFLOPS_DAY, SECONDS_PER_DAY, SECONDS_PER_YEAR

Z95 = stats.norm.ppf(0.95)
PREFIX = "mcscale: error: "


def round_sig(x: float, digits: int) -> float:
    """Round to ``digits`` significant figures, as the documents print their results."""
    return float(f"{x:.{digits - 1}e}")


def lognormal_from_interval(p5: float, p95: float) -> tuple[float, float]:
    """(mu, sigma) of a lognormal with this 90% interval."""
    return (math.log(p5) + math.log(p95)) / 2, (math.log(p95) - math.log(p5)) / (2 * Z95)


def invoke(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


# --------------------------------------------------------------------------- #
# The source essays' arithmetic, to the precision they give                  #
# --------------------------------------------------------------------------- #


def test_meena_as_the_documents_compute_it():
    # 30 days x 2048 TPUv3 cores x 0.25 boards/core x 420e12 FLOP/s per board x 0.33
    result = estimate.flop(chips=2048 * 0.25, peak_flops=420e12, days=30, utilization=0.33)
    assert result.is_point
    assert result.value == pytest.approx(30 * 86400 * 512 * 420e12 * 0.33, rel=1e-12)
    assert round_sig(result.value, 2) == 1.8e23
    by_board = estimate.flop(chips=512, chip="TPUv3-board", days=30, utilization=0.33)
    assert by_board.value == pytest.approx(result.value, rel=1e-12)


def test_meena_with_google_chip_counts_matches_epoch():
    # A v3 board has 4 chips = 8 cores, so 2048 cores are 1024 chips at 123e12 FLOP/s each: the documents'
    # 0.25 boards/core overstates Meena 1.7x. Epoch AI's figure is 1024 chips x 720 h x 0.3431 = 1.12e23.
    by_core = estimate.flop(chips=2048, chip="TPUv3-core", days=30, utilization=0.33)
    by_chip = estimate.flop(chips=1024, chip="TPUv3", days=30, utilization=0.33)
    assert by_core.value == pytest.approx(by_chip.value, rel=1e-12)
    assert round_sig(by_core.value, 2) == 1.1e23
    epoch = estimate.flop(chips=1024, chip="TPUv3", hours=720, utilization=0.3431)
    assert round_sig(epoch.value, 3) == 1.12e23  # frontier_runs.csv: Meena, 1.12e+23


def test_alphafold():
    result = estimate.flop(chips=8, peak_flops=100e12, days=5, utilization=0.33)
    assert result.value == pytest.approx(1.14048e20, rel=1e-12)
    assert round_sig(result.value, 1) == 1e20


def test_biggan():
    result = estimate.flop(chips=512 * 0.25, peak_flops=420e12, days=2, utilization=0.33)
    assert result.value == pytest.approx(3.06561024e21, rel=1e-12)
    assert round_sig(result.value, 1) == 3e21


def test_llama_65b_cost():
    result = estimate.cost(chips=2048, chip_price=15_000, depreciation=0.25, days=21, energy_mwh=400, usd_per_kwh=0.168)
    hardware, energy = result.parts["hardware"].value, result.parts["energy"].value
    assert hardware == pytest.approx(2048 * 15_000 * 0.25 * 21 / DAYS_PER_YEAR, rel=1e-12)
    assert energy == pytest.approx(67_200, rel=1e-12)
    assert result.value == pytest.approx(hardware + energy, rel=1e-12)
    # The documents' "$450k" is 441,561 rounded up: 2 significant figures give $440k; within 2%.
    assert round_sig(hardware, 2) == 4.4e5
    assert hardware == pytest.approx(450e3, rel=0.02)
    assert round_sig(energy, 2) == 6.7e4


def test_llama_65b_by_parameters_and_tokens():
    result = estimate.flop(params=65.2e9, tokens=1.4e12)
    assert result.value == pytest.approx(6 * 65.2e9 * 1.4e12)
    assert round_sig(result.value, 2) == 5.5e23  # frontier_runs.csv: LLaMA-65B, 5.5e+23


def test_price_performance_examples():
    # V100: $10k for 30 TFLOP/s over a year: $913 per PFLOP/s-day, "about $1,000".
    v100 = estimate.price_performance(chip_price=10_000, peak_flops=30e12, lifetime_years=1)
    assert v100.value == pytest.approx(10_000 / (0.030 * DAYS_PER_YEAR), rel=1e-12)
    assert v100.value == pytest.approx(1_000, rel=0.1)
    # RTX 2080 Ti as the documents write it, $1k for 125 TFLOP/s: $21.9, not "about $25" (12% off).
    as_written = estimate.price_performance(chip_price=1_000, peak_flops=125e12)
    assert as_written.value == pytest.approx(1_000 / (0.125 * DAYS_PER_YEAR), rel=1e-12)
    assert round_sig(as_written.value, 2) == 22
    # With the 2080 Ti's real tensor rate (107.6e12) and its $999 price, the table gives the documents' $25.
    table = estimate.price_performance(chip="RTX 2080 Ti")
    assert round_sig(table.value, 2) == 25


def test_units_of_price_performance():
    # One chip at exactly 1 PFLOP/s for a year (365.25 days) at $365.25 costs $1 per PFLOP/s-day.
    result = estimate.price_performance(chip_price=DAYS_PER_YEAR, peak_flops=1e15, lifetime_years=1)
    assert result.value == pytest.approx(1.0, rel=1e-12)
    assert PFLOPS_DAY == 1e15 * 86400


# --------------------------------------------------------------------------- #
# Closed forms                                                                 #
# --------------------------------------------------------------------------- #


def within_mcse(result, exact: dict[str, float], k: float = 4.0) -> None:
    for key, value in exact.items():
        assert abs(result.quantiles[key] - value) <= k * result.quantile_mcse[key], (key, result.quantiles, exact)


def test_product_of_lognormals_is_lognormal():
    intervals = {"chips": (1000, 3000), "peak_flops": (1e14, 3e14), "days": (20, 60)}
    result = estimate.flop(
        chips={"dist": "lognormal", "p5": 1000, "p95": 3000},
        peak_flops="lognormal(1e14, 3e14)",
        days="lognormal(20, 60)",
        utilization=0.4,
        n_draws=200_000,
        seed=1,
    )
    params = [lognormal_from_interval(*interval) for interval in intervals.values()]
    mu = sum(m for m, _ in params) + math.log(SECONDS_PER_DAY * 0.4)
    sigma = math.sqrt(sum(s**2 for _, s in params))
    exact = stats.lognorm(s=sigma, scale=math.exp(mu))
    expected = {"5%": exact.ppf(0.05), "50%": exact.median(), "95%": exact.ppf(0.95)}
    closed = result.closed_form
    assert closed["method"] == "product of lognormals"
    assert closed["mu"] == pytest.approx(mu, rel=1e-12)
    assert closed["sigma"] == pytest.approx(sigma, rel=1e-12)
    for key, value in expected.items():
        assert closed["quantiles"][key] == pytest.approx(value, rel=1e-10)
    within_mcse(result, expected)


def test_quotient_of_lognormals_is_lognormal():
    result = estimate.price_performance(
        chip_price="lognormal(8000, 12000)", peak_flops="lognormal(20e12, 40e12)", n_draws=100_000, seed=2
    )
    mu_price, s_price = lognormal_from_interval(8000, 12000)
    mu_peak, s_peak = lognormal_from_interval(20e12, 40e12)
    mu = mu_price - mu_peak + math.log(PFLOPS_DAY / SECONDS_PER_YEAR)
    exact = stats.lognorm(s=math.hypot(s_price, s_peak), scale=math.exp(mu))
    expected = {"5%": exact.ppf(0.05), "50%": exact.median(), "95%": exact.ppf(0.95)}
    assert result.closed_form["quantiles"]["50%"] == pytest.approx(expected["50%"], rel=1e-10)
    within_mcse(result, expected)


def test_truncated_utilization_maps_its_quantiles():
    # The issue's example: lognormal(0.2, 0.5) utilization, truncated to (0, 1] as in a scenario.
    result = estimate.flop(chips=8, peak_flops=100e12, days=5, utilization="lognormal(0.2, 0.5)", seed=3)
    mu, sigma = lognormal_from_interval(0.2, 0.5)
    utilization = stats.lognorm(s=sigma, scale=math.exp(mu))
    kept = utilization.cdf(1.0)
    constant = 8 * 100e12 * 5 * SECONDS_PER_DAY
    expected = {f"{100 * q:g}%": constant * utilization.ppf(q * kept) for q in (0.05, 0.5, 0.95)}
    assert result.closed_form["method"] == "monotone in utilization"
    for key, value in expected.items():
        assert result.closed_form["quantiles"][key] == pytest.approx(value, rel=1e-9)
    within_mcse(result, expected)


def test_uniform_duration_and_negative_power():
    # USD per PFLOP/s-day falls as the lifetime grows: the 5% quantile comes from the longest lifetime.
    result = estimate.price_performance(chip_price=10_000, peak_flops=30e12, lifetime_years="uniform(1, 3)", seed=4)
    lifetime = stats.uniform(1, 2)
    expected = {f"{100 * q:g}%": 10_000 / (0.030 * DAYS_PER_YEAR * lifetime.ppf(1 - q)) for q in (0.05, 0.5, 0.95)}
    for key, value in expected.items():
        assert result.closed_form["quantiles"][key] == pytest.approx(value, rel=1e-12)
    within_mcse(result, expected)


def test_sum_has_no_closed_form_but_parts():
    result = estimate.cost(
        chips="lognormal(1500, 2500)",
        chip_price=15_000,
        depreciation=0.25,
        days=21,
        energy_mwh="uniform(350, 450)",
        usd_per_kwh=0.168,
        seed=5,
    )
    assert result.closed_form is None
    assert result.parts["hardware"].closed_form["method"] == "product of lognormals"
    assert result.parts["energy"].closed_form["quantiles"]["50%"] == pytest.approx(400e3 * 0.168)
    assert result.samples == pytest.approx(result.parts["hardware"].samples + result.parts["energy"].samples)
    within_mcse(result.parts["energy"], {"50%": 67_200.0})


def test_same_seed_same_bits_and_generators_accepted():
    kwargs = dict(chips="lognormal(10, 20)", peak_flops=1e14, days="uniform(1, 2)", utilization="normal(0.3, 0.4)")
    a = estimate.flop(**kwargs, seed=7, n_draws=1000)
    b = estimate.flop(**kwargs, seed=7, n_draws=1000)
    c = estimate.flop(**kwargs, seed=np.random.default_rng(7), n_draws=1000)
    assert np.array_equal(a.samples, b.samples)
    assert np.array_equal(a.samples, c.samples)
    assert not np.array_equal(a.samples, estimate.flop(**kwargs, seed=8, n_draws=1000).samples)
    assert a.closed_form is None  # three uncertain inputs, not all lognormal


def test_mcse_matches_the_order_statistic_rule():
    result = estimate.flop(params="lognormal(1e9, 1e10)", tokens=1e12, n_draws=40_000, seed=9)
    draws = np.sort(result.samples)
    n, q = draws.size, 0.5
    half = 1.959963984540054 * math.sqrt(n * q * (1 - q))
    expected = (draws[math.ceil(n * q + half)] - draws[math.floor(n * q - half)]) / (2 * 1.959963984540054)
    assert result.quantile_mcse["50%"] == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- #
# Inline priors and durations                                                  #
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("text", "table"),
    [
        ("lognormal(0.2, 0.5)", {"dist": "lognormal", "p5": 0.2, "p95": 0.5}),
        ("normal(1e3, 2E3, lower=1)", {"dist": "normal", "p5": 1000, "p95": 2000, "lower": 1}),
        (" uniform( 1 , 2.5 ) ", {"dist": "uniform", "low": 1, "high": 2.5}),
        ("loguniform(1e-3, .5)", {"dist": "loguniform", "low": 1e-3, "high": 0.5}),
        ("2_048", 2048.0),
        ("-3.5e-2", -0.035),
    ],
)
def test_inline_priors_parse_like_scenario_tables(text, table):
    assert _inline_table(text) == table


def test_inline_prior_matches_scenario_parameters():
    spec = estimate.parse_prior("lognormal(0.2, 0.5)", domain="fraction")
    mu, sigma = lognormal_from_interval(0.2, 0.5)
    assert spec.params == pytest.approx({"mu": mu, "sigma": sigma})
    assert (spec.lower, spec.upper) == (0.0, 1.0)  # truncated like a scenario's utilization


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("lognormal(0.2", "cannot parse"),
        ("lognormal(0.2, 0.5, 0.7)", "takes two numbers"),
        ("beta(1, 2)", "unknown distribution 'beta'"),
        ("__import__('os').system('true')", "cannot parse"),
        ("1 + 1", "cannot parse"),
        ("lognormal(0.5, 0.2)", "p95 must be greater than p5"),
        ("normal(1, 2)", "must be positive"),
        ("uniform(1, 2, upper=0.5)", "no probability mass"),
        ("lognormal(1, 2, mean=3)", "lower=x, upper=y"),
        ("", "cannot parse"),
    ],
)
def test_bad_inline_priors(text, fragment):
    with pytest.raises(EstimateError, match=None) as info:
        estimate.parse_prior(text, name="chips")
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_durations():
    chip_days = estimate.parse_duration("2500 V100-days")
    assert (chip_days.per_chip, chip_days.chip, chip_days.spec.scale) == (True, "V100", SECONDS_PER_DAY)
    assert estimate.parse_duration("60000 chip-hours").chip is None
    assert estimate.parse_duration("720 hours").spec.scale == 3600
    uncertain = estimate.parse_duration("lognormal(20, 40) days")
    assert (uncertain.spec.dist, uncertain.per_chip) == ("lognormal", False)
    assert estimate.parse_duration("2048 TPUv3-core-hours").chip == "TPUv3-core"
    for bad, fragment in (
        ("30", "write an amount and a unit"),
        ("30 fortnights", "unknown unit 'fortnights'"),
        ("30 X100-days", "unknown chip 'X100'"),
        ("-3 days", "must be positive"),
    ):
        with pytest.raises(EstimateError) as info:
            estimate.parse_duration(bad)
        assert fragment in str(info.value)


def test_chip_time_replaces_the_chip_count():
    by_chip_time = estimate.flop(duration="2500 V100-days", utilization=0.33)
    by_count = estimate.flop(chips=2500, chip="V100", days=1, utilization=0.33)
    assert by_chip_time.value == pytest.approx(by_count.value, rel=1e-12)
    hours = estimate.flop(chips=8, peak_flops=1e14, hours=120, utilization=0.33)
    assert hours.value == pytest.approx(estimate.flop(chips=8, peak_flops=1e14, days=5, utilization=0.33).value)
    with pytest.raises(EstimateError, match="already counts the chips"):
        estimate.flop(chips=8, duration="2500 V100-days", utilization=0.33)
    with pytest.raises(EstimateError, match="names V100 but chip is A100"):
        estimate.flop(chip="A100", duration="2500 V100-days", utilization=0.33)


# --------------------------------------------------------------------------- #
# The chip table                                                               #
# --------------------------------------------------------------------------- #


def test_chip_table_covers_the_issue_and_cites_sources():
    table = estimate.chips()
    for name in ("V100", "A100", "H100", "H200", "B200", "TPUv3", "TPUv3-core", "TPUv3-board", "TPUv4", "TPUv5p"):
        assert name in table
    assert "RTX2080Ti" in table
    for row in table.values():
        assert row.source and row.variant and row.peak_flops
        assert set(row.peak_flops) <= set(estimate.PRECISIONS)
        assert all(1e12 < v < 1e16 for v in row.peak_flops.values())
        if row.price_usd is not None and row.name not in ("RTX2080Ti",):
            assert row.price_is_estimate  # no list prices for data-centre parts
    # Consistency between rows.
    assert table["TPUv3-core"].peak_flops["bf16"] * 2 == table["TPUv3"].peak_flops["bf16"]
    assert table["H200"].peak_flops == table["H100"].peak_flops
    assert table["A100"].peak_flops["bf16"] == 2 * table["A100"].peak_flops["tf32"]
    assert table["V100"].peak("fp32") == ("fp32", 15.7e12)
    assert table["V100"].peak() == ("fp16", 125e12)  # no bf16: the default falls to fp16
    assert table["H100"].peak() == ("bf16", 989.5e12)


def test_unknown_chip_lists_the_known_ones():
    with pytest.raises(EstimateError) as info:
        estimate.chip("X100")
    assert "unknown chip 'X100'; known: V100, A100, H100" in str(info.value)
    assert estimate.chip(" tpu v3_core ").name == "TPUv3-core"


def test_precision_picks_the_column():
    fp8 = estimate.flop(chips=1, chip="H100", precision="fp8", hours=1, utilization=1)
    assert fp8.value == pytest.approx(1979e12 * 3600)
    with pytest.raises(EstimateError, match="V100 has no bf16 figure; it has: fp32, fp16"):
        estimate.flop(chips=1, chip="V100", precision="bf16", hours=1, utilization=1)


def test_table_price_and_power_feed_the_cost():
    result = estimate.cost(chips=2048, chip="A100", depreciation=0.25, days=21, usd_per_kwh=0.168, pue=1.1)
    kwh = 2048 * 400 * 21 * 24 * 1.1 / 1000
    assert result.parts["energy"].value == pytest.approx(kwh * 0.168)
    assert result.parts["hardware"].value == pytest.approx(2048 * 15_000 * 0.25 * 21 / DAYS_PER_YEAR)
    assert any("estimate" in note for note in result.notes)
    rented = estimate.cost(chips=8, chip="TPUv4", days=3, usd_per_chip_hour=3.22)
    assert rented.value == pytest.approx(8 * 72 * 3.22)


# --------------------------------------------------------------------------- #
# The command line                                                             #
# --------------------------------------------------------------------------- #

ISSUE_COMMANDS = [
    ("flop --chips 2048 --chip TPUv3-core --days 30 --utilization 0.33", 1.0773430272e23),
    ("flop --chips 8 --peak-flops 100e12 --days 5 --utilization lognormal(0.2,0.5)", None),
    ("flop --params 65e9 --tokens 1.4e12", 5.46e23),
    (
        "cost --chips 2048 --chip-price 15000 --depreciation 0.25 --days 21 --energy-mwh 400 --usd-per-kwh 0.168",
        2048 * 15_000 * 0.25 * 21 / DAYS_PER_YEAR + 67_200,
    ),
    ("price-performance --chip-price 10000 --peak-flops 30e12 --lifetime-years 1", 10_000 / (0.030 * DAYS_PER_YEAR)),
]


@pytest.mark.parametrize(("command", "value"), ISSUE_COMMANDS)
def test_issue_commands(command, value, capsys):
    argv = ["estimate", *command.split()]
    assert invoke(argv) == 0
    text = capsys.readouterr().out
    assert text.startswith(command.split()[0].replace("-", "_"))
    assert invoke([*argv, "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    if value is None:
        assert record["median"] == pytest.approx(record["closed_form"]["quantiles"]["50%"], rel=0.01)
        assert set(record["mcse"]) == {"5%", "50%", "95%"}
        assert (record["n_draws"], record["seed"]) == (100_000, 0)
        assert "median" in text and "90% interval" in text and "MCSE" in text
    else:
        assert record["value"] == pytest.approx(value, rel=1e-9)


def test_chips_listing(capsys):
    assert invoke(["estimate", "chips"]) == 0
    out = capsys.readouterr().out
    assert "TPUv3-board" in out and "989.5" in out
    assert invoke(["estimate", "chips", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(row["source"] for row in rows) and len(rows) == len(estimate.chips())


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ("flop --chips 0 --chip V100 --days 3 --utilization 0.3", "--chips: '0': must be positive"),
        ("flop --chips -8 --chip V100 --days 3 --utilization 0.3", "--chips: '-8': must be positive"),
        ("flop --chips 8 --chip V100 --days 0 --utilization 0.3", "--days: '0': must be positive"),
        ("cost --chips 8 --chip V100 --days=-1 --depreciation 0.25", "--days: '-1': must be positive"),
        ("flop --chips 8 --chip V100 --days 3 --utilization 1.2", "--utilization: '1.2': must lie in (0, 1]"),
        ("flop --chips 8 --chip X100 --days 3 --utilization 0.3", "--chip: unknown chip 'X100'; known: V100, A100"),
        ("flop --chips 8 --chip V100 --days 3 --utilization lognormal(0.2", "--utilization: cannot parse"),
        ("flop --chips 8 --chip V100 --days 3 --utilization gamma(1,2)", "unknown distribution 'gamma'"),
        ("flop --chips 8 --chip V100 --days 3", "--utilization: missing"),
        ("cost --chips 8 --days 3 --depreciation 0.25", "--chip-price: missing: give --chip-price"),
        ("price-performance --chip TPUv4", "--chip-price: missing: TPUv4 is not sold"),
        ("flop --chips 8 --peak-flops 1e14 --duration 3 --utilization 0.3", "--duration: cannot parse '3'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, fragment, capsys):
    assert invoke(["estimate", *argv.split()]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(PREFIX), err
    assert fragment in lines[0], lines[0]


# --------------------------------------------------------------------------- #
# The [estimate] block of a scenario                                           #
# --------------------------------------------------------------------------- #

SCENARIO = """
[scenario]
name = "estimated"
start = 2025
end = 2030

[spend]
{spend}doubling_time = 1.0

[hardware]
{hardware}doubling_time = 2.5

[utilization]
value = 0.4

[estimate]
{estimate}
"""


def scenario(estimate_block: str, spend: str | None = None, hardware: str | None = None) -> str:
    """A scenario with this ``[estimate]``; the other start value is given unless said otherwise."""
    sets_spend = "spend.initial" in estimate_block
    spend = ("" if sets_spend else "initial = 1e8\n") if spend is None else spend
    hardware = ("flop_per_usd = 1e17\n" if sets_spend else "") if hardware is None else hardware
    return SCENARIO.format(spend=spend, hardware=hardware, estimate=estimate_block)


def test_estimate_block_point_value():
    text = scenario('target = "hardware.flop_per_usd"\nchip = "H100"\nlifetime_years = 4')
    spec = parse_scenario(text, "e.toml").priors["hardware.flop_per_usd"]
    assert spec.dist == "fixed"
    assert spec.params["value"] == pytest.approx(989.5e12 * 4 * SECONDS_PER_YEAR / 30_000)


def test_estimate_block_lognormal_when_inputs_are_lognormal():
    text = scenario(
        'target = "hardware.flop_per_usd"\nchip = "H100"\n'
        'chip_price = { dist = "lognormal", p5 = 25000, p95 = 40000 }\ndepreciation = 0.25'
    )
    spec = parse_scenario(text, "e.toml").priors["hardware.flop_per_usd"]
    mu_price, sigma_price = lognormal_from_interval(25_000, 40_000)
    assert spec.dist == "lognormal"
    assert spec.params["mu"] == pytest.approx(math.log(989.5e12 * 4 * SECONDS_PER_YEAR) - mu_price, rel=1e-12)
    assert spec.params["sigma"] == pytest.approx(sigma_price, rel=1e-12)
    direct = estimate.flop_per_usd(chip="H100", chip_price="lognormal(25000, 40000)", depreciation=0.25)
    assert direct.to_prior("hardware.flop_per_usd").params == pytest.approx(spec.params, rel=1e-12)


def test_estimate_block_percentiles_run_by_the_engine():
    block = (
        'target = "spend.initial"\nchips = "lognormal(1500, 2500)"\nchip = "A100"\ndepreciation = 0.25\n'
        'duration = "21 days"\nenergy_mwh = 400\nusd_per_kwh = 0.168'
    )
    parsed = parse_scenario(scenario(block), "e.toml")
    spec = parsed.priors["spend.initial"]
    assert spec.dist == "percentiles" and spec.log10
    direct = estimate.cost(
        chips="lognormal(1500, 2500)",
        chip="A100",
        depreciation=0.25,
        duration="21 days",
        energy_mwh=400,
        usd_per_kwh=0.168,
        n_draws=estimate.SCENARIO_DRAWS,
        seed=estimate.SCENARIO_SEED,
    )
    table = dict(spec.points)
    for q in (0.05, 0.5, 0.95):
        assert 10 ** table[q] == pytest.approx(direct.quantiles[f"{100 * q:g}%"], rel=1e-9)
    result = mcscale.run(parsed, n_draws=20_000, seed=3)
    draws = result.parameter_draws("spend.initial").ravel()
    for q in (0.05, 0.5, 0.95):
        assert np.quantile(draws, q) == pytest.approx(direct.quantiles[f"{100 * q:g}%"], rel=0.01)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.toml")
    return info.value.lines()


def test_estimate_block_errors_have_key_paths():
    lines = problems_of(scenario('target = "spend.initial"\nchip = "X100"\nchips = 0\ndepreciation = 0.25\ndays = 3'))
    assert lines == [
        "bad.toml: estimate.chip: unknown chip 'X100'; known: "
        "V100, A100, H100, H200, B200, TPUv3, TPUv3-core, TPUv3-board, TPUv4, TPUv5p, RTX2080Ti",
        "bad.toml: estimate.chips: must be positive, got 0.0",
    ]  # and no cascade: no "chip_price missing", no "spend.initial missing"


@pytest.mark.parametrize(
    ("block", "spend", "expected"),
    [
        ("chip = 'H100'", "initial = 1e8\n", 'estimate.target: missing; known: "spend.initial"'),
        ("target = 'spend.cap'", "initial = 1e8\n", "estimate.target: unknown target 'spend.cap'"),
        (
            "target = 'hardware.flop_per_usd'\nchip = 'H100'\nlifetime_years = 4\nutilization = 0.4",
            "initial = 1e8\n",
            "estimate.utilization: flop_per_usd is at peak",
        ),
        (
            "target = 'hardware.flop_per_usd'\nchip = 'H100'\nlifetime_years = 4\nchipz = 3",
            "initial = 1e8\n",
            "estimate.chipz: unknown key for target 'hardware.flop_per_usd'",
        ),
        (
            "target = 'spend.initial'\nchips = 8\nchip = 'H100'\nlifetime_years = 4\ndays = 3",
            "initial = 1e8\n",
            'spend.initial: given here and by [estimate] (target = "spend.initial")',
        ),
        (
            "target = 'hardware.flop_per_usd'\nchip = 'H100'\nlifetime_years = { dist = 'lognormal', p5 = 5, p95 = 2 }",
            "initial = 1e8\n",
            "estimate.lifetime_years.p95: must be greater than p5",
        ),
        (
            "target = 'hardware.flop_per_usd'\nchip = 'H100'\nprecision = 'fp4'\nlifetime_years = 4",
            "initial = 1e8\n",
            "estimate.precision: unknown precision 'fp4'",
        ),
    ],
)
def test_estimate_block_bad_input(block, spend, expected):
    lines = problems_of(scenario(block, spend=spend))
    assert any(f"bad.toml: {expected}" in line for line in lines), lines


def test_estimate_block_through_the_cli(tmp_path, capsys):
    path = tmp_path / "e.toml"
    path.write_text(scenario('target = "hardware.flop_per_usd"\nchip = "H100"\nlifetime_years = 4'))
    assert invoke(["run", str(path), "--draws", "2000"]) == 0
    assert "estimated" in capsys.readouterr().out

"""Integer codes and sizes that the kernels and their encoders share (no numba here).

:mod:`mcscale.sim.encode` writes these codes into the arrays the kernels read; the
kernels switch on them. Kept apart from the jitted code so that the encoders can
import them without importing numba.
"""

__all__ = [
    "ALGO_MULTIPLIER",
    "BLOCK_SIZE",
    "CAP",
    "CEILING_EXPONENTIAL",
    "CEILING_HARD",
    "CEILING_NONE",
    "CEILING_SOFT",
    "EFFECTIVE_FLOP",
    "FLOP_PER_USD",
    "GROWTH_ALGORITHMS",
    "GROWTH_CAP",
    "GROWTH_HARDWARE",
    "GROWTH_SPEND",
    "KIND_CODES",
    "KIND_TABULATED",
    "N_VALUES",
    "N_VARIABLES",
    "PHYSICAL_FLOP",
    "RATE_DOUBLING_TIME",
    "RATE_GROWTH_PER_YEAR",
    "RATE_NONE",
    "RATE_OOM_PER_YEAR",
    "RATE_PERCENT_PER_YEAR",
    "SPEND",
    "VALUE_CAP",
    "VALUE_CAP_SCALE",
    "VALUE_FLOP_PER_USD",
    "VALUE_MAX_FLOP_PER_USD",
    "VALUE_MAX_GAIN",
    "VALUE_SPEND",
    "VALUE_UTILIZATION",
]

# Value slots of the model plan (log10 of a sampled parameter, or absent).
VALUE_SPEND = 0
VALUE_CAP = 1
VALUE_CAP_SCALE = 2  # GDP, when the cap is a fraction of GDP
VALUE_FLOP_PER_USD = 3
VALUE_MAX_FLOP_PER_USD = 4
VALUE_UTILIZATION = 5
VALUE_MAX_GAIN = 6
N_VALUES = 7

# Growing quantities, and how a regime gives each one's rate.
GROWTH_SPEND = 0
GROWTH_CAP = 1
GROWTH_HARDWARE = 2
GROWTH_ALGORITHMS = 3
RATE_NONE = 0
RATE_DOUBLING_TIME = 1
RATE_GROWTH_PER_YEAR = 2
RATE_OOM_PER_YEAR = 3  # log10 growth per year, read as drawn (it may be negative)
RATE_PERCENT_PER_YEAR = 4  # 100 (factor - 1), > -100

# Trajectory variables, in output order (log10 values).
SPEND = 0
CAP = 1
FLOP_PER_USD = 2
PHYSICAL_FLOP = 3
ALGO_MULTIPLIER = 4
EFFECTIVE_FLOP = 5
N_VARIABLES = 6

# Ceiling modes.
CEILING_NONE = 0
CEILING_HARD = 1
CEILING_SOFT = 2
CEILING_EXPONENTIAL = 3  # c (1 - exp(-x / c)), the Direct Approach's soft limit

# Prior kinds, per row of a prior table.
KIND_FIXED = 0
KIND_NORMAL = 1
KIND_LOGNORMAL = 2
KIND_UNIFORM = 3
KIND_LOGUNIFORM = 4
KIND_PERCENTILES = 5
KIND_MIXTURE = 6
KIND_LOOKUP = 7
#: A quantile function tabulated over the normal score z (beta, gamma, pert, triangular,
#: student_t, log_student_t, metalog): ``a`` is the first grid z, ``b`` 1 / the spacing,
#: ``table_y`` the values (log10 of them where ``log10``), ``table_x`` the slopes times
#: the spacing, for cubic Hermite interpolation.
KIND_TABULATED = 8
#: Distribution name -> kind code.
KIND_CODES: dict[str, int] = {
    "fixed": KIND_FIXED,
    "normal": KIND_NORMAL,
    "lognormal": KIND_LOGNORMAL,
    "uniform": KIND_UNIFORM,
    "loguniform": KIND_LOGUNIFORM,
    "percentiles": KIND_PERCENTILES,
    "mixture": KIND_MIXTURE,
    "lookup": KIND_LOOKUP,
    "beta": KIND_TABULATED,
    "gamma": KIND_TABULATED,
    "pert": KIND_TABULATED,
    "triangular": KIND_TABULATED,
    "student_t": KIND_TABULATED,
    "log_student_t": KIND_TABULATED,
    "metalog": KIND_TABULATED,
}

#: Draws propagated together: every per-year loop runs over a block, so the compiler
#: vectorizes it and one (variable, year) histogram row stays in cache.
BLOCK_SIZE = 1024

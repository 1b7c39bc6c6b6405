"""Vectorizable elementary functions for the kernels: log, exp, the normal CDF and its inverse.

numba's LLVM has no vector maths library, so a loop that calls libm's log runs one
element at a time. These branch-free versions let the compiler run 8 draws per
instruction on AVX-512 (4 on AVX2); they follow fdlibm's e_log.c and e_exp.c
(algorithms and coefficients, within 1 ulp of libm; tests check it), whose notice is::

    Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
    Developed at SunPro, a Sun Microsystems, Inc. business. Permission to use, copy,
    modify, and distribute this software is freely granted, provided that this
    notice is preserved.
"""

from __future__ import annotations

import math

import numba
from llvmlite import ir as llvm_ir
from numba.extending import intrinsic

__all__ = [
    "fast_log10",
    "inline_jit",
    "jit",
    "ndtr",
    "ndtr_call",
    "ndtri",
    "ndtri_call",
    "vectorizable_exp",
    "vectorizable_log",
]

# error_model="numpy": a division by zero gives inf/nan instead of a branch that raises,
# which would stop loops from vectorizing.
jit = numba.njit(nogil=True, cache=True, error_model="numpy")
# Inlined into the caller by numba itself: LLVM's inliner leaves functions this large as
# calls, and a loop with a call in it does not vectorize.
inline_jit = numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_LOG10_E = math.log10(math.e)


@intrinsic
def _float_bits(typingctx, x):  # noqa: D103 (an LLVM bitcast)
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_ir.IntType(64))

    return numba.types.int64(numba.types.float64), codegen


@intrinsic
def _bits_float(typingctx, x):  # noqa: D103 (an LLVM bitcast)
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_ir.DoubleType())

    return numba.types.float64(numba.types.int64), codegen


_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LG = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)
_SMALLEST_NORMAL = 2.2250738585072014e-308


@jit
def vectorizable_log(x: float) -> float:
    """Natural logarithm without branches (fdlibm's ``__ieee754_log``), so loops over it vectorize.

    Within 1 ulp of libm for positive finite ``x`` (tests check it); ``x <= 0`` gives
    NaN or -inf, ``inf`` gives inf, subnormals are rescaled.
    """
    scaled = x * 18014398509481984.0 if x < _SMALLEST_NORMAL else x  # 2^54
    bits = _float_bits(scaled)
    exponent = (bits >> 52) - 1023 - (54 if x < _SMALLEST_NORMAL else 0)
    mantissa = _bits_float((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)  # in [1, 2)
    high = mantissa > 1.4142135623730951
    mantissa = mantissa * 0.5 if high else mantissa
    exponent = exponent + 1 if high else exponent
    f = mantissa - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG[1] + w * (_LG[3] + w * _LG[5]))
    t2 = z * (_LG[0] + w * (_LG[2] + w * (_LG[4] + w * _LG[6])))
    half_f_squared = 0.5 * f * f
    k = float(exponent)
    value = k * _LN2_HI - ((half_f_squared - (s * (half_f_squared + t1 + t2) + k * _LN2_LO)) - f)
    if not x > 0.0:
        value = -math.inf if x == 0.0 else math.nan
    return math.inf if x == math.inf else value


_INV_LN2 = 1.44269504088896338700e00
_EXP_P = (
    1.66666666666666019037e-01,
    -2.77777777770155933842e-03,
    6.61375632143793436117e-05,
    -1.65339022054652515390e-06,
    4.13813679705723846039e-08,
)


@jit
def _power_of_two(k: int) -> float:
    """Return 2^k for -1022 <= k <= 1023, built from its bits."""
    return _bits_float((k + 1023) << 52)


@jit
def vectorizable_exp(x: float) -> float:
    """Exponential without branches (fdlibm's ``__ieee754_exp``, < 1 ulp), so loops over it vectorize.

    Overflows to inf above 709.78 and underflows to 0 below -745.1.
    """
    clamped = min(max(x, -746.0), 710.0)
    k = math.floor(clamped * _INV_LN2 + 0.5)
    high = clamped - k * _LN2_HI
    low = k * _LN2_LO
    r = high - low
    t = r * r
    c = r - t * (_EXP_P[0] + t * (_EXP_P[1] + t * (_EXP_P[2] + t * (_EXP_P[3] + t * _EXP_P[4]))))
    y = 1.0 - ((low - (r * c) / (2.0 - c)) - high)
    # 2^k in two factors, so k down to -1075 and up to 1024 need no special case
    half = k >> 1
    value = y * _power_of_two(half) * _power_of_two(k - half)
    return value if x == x else x


@inline_jit
def _erfc_nonnegative(z: float) -> float:
    """Complementary error function for ``z >= 0``, without branches (vectorizable)."""
    t = 2.0 / (2.0 + z)
    u = 2.0 * t - 1.0
    # g(u) = log(erfcx(z) / t) as a Chebyshev series in u (the form of Numerical Recipes'
    # erfccheb), coefficients fitted for mcscale by least squares at 800 Chebyshev nodes
    # against 50-digit mpmath values (degree 28; the last ones are ~1e-16), so that
    # erfc(z) = t exp(-z^2 + g) is within a few ulp. Clenshaw's recurrence, written out:
    # as a loop it would not vectorize.
    u2 = 2.0 * u
    b1 = b2 = 0.0
    b1, b2 = u2 * b1 - b2 + 4.4408920985006276e-17, b1
    b1, b2 = u2 * b1 - b2 + -1.776356839400251e-16, b1
    b1, b2 = u2 * b1 - b2 + -4.4408920985006276e-17, b1
    b1, b2 = u2 * b1 - b2 + -3.7747582837255336e-16, b1
    b1, b2 = u2 * b1 - b2 + -1.5543122344752194e-15, b1
    b1, b2 = u2 * b1 - b2 + 6.861178292183469e-15, b1
    b1, b2 = u2 * b1 - b2 + 5.329070518200752e-16, b1
    b1, b2 = u2 * b1 - b2 + -1.125988191574834e-13, b1
    b1, b2 = u2 * b1 - b2 + 3.1323832416774173e-13, b1
    b1, b2 = u2 * b1 - b2 + 8.946177132429514e-13, b1
    b1, b2 = u2 * b1 - b2 + -6.886047287935073e-12, b1
    b1, b2 = u2 * b1 - b2 + 2.394051623610949e-12, b1
    b1, b2 = u2 * b1 - b2 + 9.646822003051809e-11, b1
    b1, b2 = u2 * b1 - b2 + -2.2736499995783751e-10, b1
    b1, b2 = u2 * b1 - b2 + -9.913638687211331e-10, b1
    b1, b2 = u2 * b1 - b2 + 5.059343701970645e-09, b1
    b1, b2 = u2 * b1 - b2 + 6.529054604042416e-09, b1
    b1, b2 = u2 * b1 - b2 + -8.523809586965174e-08, b1
    b1, b2 = u2 * b1 - b2 + 1.5626441938674678e-08, b1
    b1, b2 = u2 * b1 - b2 + 1.3036558354384023e-06, b1
    b1, b2 = u2 * b1 - b2 + -1.6242900047435257e-06, b1
    b1, b2 = u2 * b1 - b2 + -2.027857811249993e-05, b1
    b1, b2 = u2 * b1 - b2 + 4.25233248072017e-05, b1
    b1, b2 = u2 * b1 - b2 + 0.00036683949785270247, b1
    b1, b2 = u2 * b1 - b2 + -0.000946595344481865, b1
    b1, b2 = u2 * b1 - b2 + -0.009561514786808393, b1
    b1, b2 = u2 * b1 - b2 + 0.019476473204185916, b1
    b1, b2 = u2 * b1 - b2 + 0.6419697923564903, b1
    g = u * b1 - b2 + -0.6513268598908564  # c0 set so that erfc(0) is exactly 1
    # exp(-z^2) to full relative precision: z = high + low with high^2 exact (26 bits).
    high = _bits_float(_float_bits(z) & -134217728)  # clear the low 27 mantissa bits
    low = z - high
    value = t * vectorizable_exp(-high * high) * vectorizable_exp(g - low * (z + high))
    return 0.0 if z == math.inf else value


@inline_jit
def ndtr(x: float) -> float:
    """Return the standard normal CDF at ``x`` (vectorizable; within ~1e-15 relative, lower tail included)."""
    half = 0.5 * _erfc_nonnegative(abs(x) * _INV_SQRT2)
    return half if x < 0.0 else 1.0 - half


# Wichura's AS 241 (PPND16) coefficients, lowest power first: numerators and denominators
# of the central rational function (in r = 0.180625 - q^2) and of the two tail ones (in
# s - 1.6 and s - 5, s = sqrt(-log(min(p, 1 - p)))).
_CENTRAL_NUM = (
    3.387132872796366608,
    133.14166789178437745,
    1971.5909503065514427,
    13731.693765509461125,
    45921.953931549871457,
    67265.770927008700853,
    33430.575583588128105,
    2509.0809287301226727,
)
_CENTRAL_DEN = (
    1.0,
    42.313330701600911252,
    687.1870074920579083,
    5394.1960214247511077,
    21213.794301586595867,
    39307.89580009271061,
    28729.085735721942674,
    5226.495278852854561,
)
_NEAR_NUM = (
    1.42343711074968357734,
    4.6303378461565452959,
    5.7694972214606914055,
    3.64784832476320460504,
    1.27045825245236838258,
    0.24178072517745061177,
    0.0227238449892691845833,
    7.7454501427834140764e-4,
)
_NEAR_DEN = (
    1.0,
    2.05319162663775882187,
    1.6763848301838038494,
    0.68976733498510000455,
    0.14810397642748007459,
    0.0151986665636164571966,
    5.475938084995344946e-4,
    1.05075007164441684324e-9,
)
_FAR_NUM = (
    6.6579046435011037772,
    5.4637849111641143699,
    1.7848265399172913358,
    0.29656057182850489123,
    0.026532189526576123093,
    0.0012426609473880784386,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
)
_FAR_DEN = (
    1.0,
    0.59983220655588793769,
    0.13692988092273580531,
    0.0148753612908506148525,
    7.868691311456132591e-4,
    1.8463183175100546818e-5,
    1.4215117583164458887e-7,
    2.04426310338993978564e-15,
)


@inline_jit
def _rational(x: float, num: tuple, den: tuple) -> float:
    """Return num(x) / den(x) for two degree-7 polynomials, coefficients lowest power first (Horner, written out)."""
    top = num[7] * x + num[6]
    bottom = den[7] * x + den[6]
    top = ((((top * x + num[5]) * x + num[4]) * x + num[3]) * x + num[2]) * x + num[1]
    bottom = ((((bottom * x + den[5]) * x + den[4]) * x + den[3]) * x + den[2]) * x + den[1]
    top = top * x + num[0]
    bottom = bottom * x + den[0]
    return top / bottom


@inline_jit
def ndtri(p: float) -> float:
    """Inverse standard normal CDF, for ``0 < p < 1`` (vectorizable; within ~1e-15 relative).

    Wichura's algorithm AS 241 (PPND16; Applied Statistics 37, 477-484, 1988), which R's
    ``qnorm`` uses. All three rational functions are computed and one selected, so loops
    over it vectorize. It is accurate without a refinement step, so it needs neither
    ``ndtr`` nor ``exp``.
    """
    q = p - 0.5
    central = q * _rational(0.180625 - q * q, _CENTRAL_NUM, _CENTRAL_DEN)
    s = math.sqrt(-vectorizable_log(min(p, 1.0 - p)))
    near = _rational(s - 1.6, _NEAR_NUM, _NEAR_DEN)
    far = _rational(s - 5.0, _FAR_NUM, _FAR_DEN)
    tail = near if s <= 5.0 else far
    tail = -tail if q < 0.0 else tail
    return central if abs(q) <= 0.425 else tail


@jit
def fast_log10(x: float) -> float:
    """Return log10(x) (vectorizable)."""
    return vectorizable_log(x) * _LOG10_E


# Scalar code (a branchy loop that does not vectorize anyway) calls these instead: one
# compiled copy each, where every inlined call site would add a whole copy to compile.
@jit
def ndtr_call(x: float) -> float:
    """Return :func:`ndtr` through a call, not inlined (for loops that do not vectorize)."""
    return ndtr(x)


@jit
def ndtri_call(p: float) -> float:
    """Return :func:`ndtri` through a call, not inlined (for loops that do not vectorize)."""
    return ndtri(p)

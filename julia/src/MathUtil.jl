# Numeric helpers shared by the features. docs/STRATEGY.md "Float semantics": binary64, no FMA,
# no @fastmath, expressions evaluated as written. Julia does not contract a*b+c into an FMA unless
# asked (muladd/@fastmath), so plain expressions below match the C++ engine built with
# -ffp-contract=off.

const SQRT2 = sqrt(2.0)
const LN2 = log(2.0)

"""
    erfc_libm(x)

Complementary error function from the C math library that ships with Julia (openlibm; the stdlib
has no erfc). openlibm and glibc both descend from fdlibm's erfc, accurate to about 1 ulp, well
inside the cross-engine tolerance (relative 1e-9). A `ccall` with constant types: no allocation.
"""
@inline erfc_libm(x::Float64) = ccall((:erfc, Base.Math.libm), Float64, (Float64,), x)

"""Standard normal CDF, written as the strategy specification writes it."""
@inline normal_cdf(z::Float64) = 0.5 * erfc_libm(-z / SQRT2)

"""`x` when `x < cap`, else `cap`: the C++ `std::min(cap, x)` order (no NaN special-casing)."""
@inline min_cap(cap::Float64, x::Float64) = x < cap ? x : cap

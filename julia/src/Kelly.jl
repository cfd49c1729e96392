# Confidence scoring and Kelly sizing: docs/STRATEGY.md "Signal evaluation".

"""
    confidence(z, vpin, ofi_norm) -> Float64

`conf_z * vpin_factor * ofi_factor`: how far the price sits from the OU mean (two-sided normal
probability), discounted by toxic flow (VPIN) and by order flow that disagrees with the trade.
"""
@inline function confidence(z::Float64, vpin::Float64, ofi_n::Float64)
    conf_z = 1 - erfc_libm(abs(z) / SQRT2)
    vpin_factor = isnan(vpin) ? 1.0 : 1 - vpin
    align = z > 0 ? -ofi_n : ofi_n
    ofi_factor = 0.5 + 0.5 * align
    return (conf_z * vpin_factor) * ofi_factor
end

"""
    ou_kelly_fraction(mid, mu, sigma, kappa) -> f*

Continuous Kelly `f* = m / s²` (Thorp 2006) over a horizon of one OU half-life: expected
reversion `|mid - mu|/2` against the OU price variance accumulated over that horizon. It is a
fraction of capital; the caller caps it at 1 (no leverage) before applying the fractional Kelly.
"""
@inline function ou_kelly_fraction(mid::Float64, mu::Float64, sigma::Float64, kappa::Float64)
    edge = abs(mid - mu) * 0.5
    var_h = ((sigma * sigma) * 0.75) / (2 * kappa)
    return (edge * mid) / var_h
end

"""Discrete Kelly for a bet paying `b`:1 with win probability `p`: `(b p - q) / b`."""
kelly_discrete(p::Float64, b::Float64) = (b * p - (1 - p)) / b

"""Expected log growth per bet of staking fraction `f`: `p ln(1 + b f) + q ln(1 - f)`."""
kelly_growth(p::Float64, b::Float64, f::Float64) = p * log(1 + b * f) + (1 - p) * log(1 - f)

"""Continuous (lognormal) Kelly: `f* = (m - r)/s²` and growth `r + (m - r)²/(2 s²)`."""
function kelly_continuous(m::Float64, r::Float64, s::Float64)
    f = (m - r) / (s * s)
    g = r + (m - r) * (m - r) / (2 * s * s)
    return (f, g)
end

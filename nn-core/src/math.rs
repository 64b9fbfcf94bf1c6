//! The few transcendental functions the core needs, called by name.
//!
//! By default these are `libm`'s, so the host runs exactly the code the board runs
//! (never `f32::exp`, whose std version may differ from the board's). With the
//! `fast-math` feature, `exp` (and so sigmoid, tanh and softmax) comes from `micromath`'s
//! approximation instead: about 0.24% relative error, measured in `tests/fast_math.rs`.
//! Logarithms stay libm's: micromath's `ln` is off by up to 0.12 in absolute terms, and
//! they are only used by the losses, in training, where accuracy matters more than speed.

/// e^x.
#[inline]
pub fn exp(x: f32) -> f32 {
    #[cfg(feature = "fast-math")]
    {
        micromath::F32::exp(micromath::F32(x)).0
    }
    #[cfg(not(feature = "fast-math"))]
    {
        libm::expf(x)
    }
}

/// Natural logarithm (always libm's).
#[inline]
pub fn ln(x: f32) -> f32 {
    libm::logf(x)
}

/// ln(1 + x), accurate for small x (always libm's).
#[inline]
pub fn ln_1p(x: f32) -> f32 {
    libm::log1pf(x)
}

/// Hyperbolic tangent.
#[inline]
pub fn tanh(x: f32) -> f32 {
    #[cfg(feature = "fast-math")]
    {
        // tanh(x) = sign(x) * (1 - e^{-2|x|}) / (1 + e^{-2|x|}): no overflow for large |x|.
        let e = exp(-2.0 * libm::fabsf(x));
        libm::copysignf((1.0 - e) / (1.0 + e), x)
    }
    #[cfg(not(feature = "fast-math"))]
    {
        libm::tanhf(x)
    }
}

/// Absolute value (exact; libm by name so no std method is involved).
#[inline]
pub fn abs(x: f32) -> f32 {
    libm::fabsf(x)
}

/// Square root (exact in IEEE arithmetic).
#[inline]
pub fn sqrt(x: f32) -> f32 {
    libm::sqrtf(x)
}

//! Vectorisable tanh and sigmoid for the training engine's batched forward pass.
//!
//! libm's `tanhf` and `expf` are scalar calls with branches; over a batch they dominate the
//! small tanh networks. These are Cephes' single-precision approximations written without
//! branches (both sides computed, one selected) so the compiler vectorises them. Their error
//! against libm is measured in `tests/fastmath.rs` (a few ulp). They are used for training
//! only: metrics, golden vectors and the board use nn-core's libm forward.

#![allow(clippy::excessive_precision)] // Cephes' coefficients, as published

const LOG2_E: f32 = core::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// e^x for x in [-87, 88] (clamped outside), about 2 ulp.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let z = r * r;
    let p = ((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 5.000_000_1e-1;
    let p = p * z + r + 1.0;
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// tanh x: a polynomial below |x| = 0.625, 1 - 2/(e^{2|x|} + 1) above, sign restored.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let small = ((((-5.704_988_7e-3 * z + 2.063_908_9e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1) * z
        - 3.333_328_2e-1)
        * z
        * x
        + x;
    let large = (1.0 - 2.0 / (exp(2.0 * a) + 1.0)).copysign(x);
    if a < 0.625 { small } else { large }
}

/// The logistic function 1 / (1 + e^-x).
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

//! Integer arithmetic for int8 inference (groundwork for the int8 model kind): the
//! fixed-point requantization of the TensorFlow Lite quantization spec (Jacob et al. 2018)
//! and an integer-only dense kernel. Everything here is integer arithmetic, so host and
//! board agree bit for bit by construction.
//!
//! Conventions: weights int8, symmetric, one scale per output channel; activations int8,
//! asymmetric (scale, zero point) per tensor; bias int32 at scale `s_in · s_w[o]`, with the
//! input zero point folded in (`bias' = bias - zp_in · Σ_i w[o][i]`), so the kernel's sum is
//! `bias'[o] + Σ_i w[o][i] · x[i]`, requantized by a multiplier `s_in · s_w[o] / s_out`.

/// A real multiplier as a Q31 fixed-point value and a power-of-two exponent:
/// `real ≈ multiplier · 2^(shift - 31)`, with `multiplier` in [2^30, 2^31) (or 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Multiplier {
    /// Q31 mantissa.
    pub multiplier: i32,
    /// Exponent (positive: shift left).
    pub shift: i32,
}

impl Multiplier {
    /// The fixed-point form of `real` (≥ 0), as TensorFlow Lite's `QuantizeMultiplier`.
    /// Multipliers below 2^-31 become zero.
    pub fn from_real(real: f64) -> Multiplier {
        if real <= 0.0 || !real.is_finite() {
            return Multiplier {
                multiplier: 0,
                shift: 0,
            };
        }
        let (mantissa, mut shift) = libm::frexp(real);
        let mut fixed = libm::round(mantissa * (1u64 << 31) as f64) as i64;
        if fixed == 1i64 << 31 {
            fixed /= 2;
            shift += 1;
        }
        if shift < -31 {
            return Multiplier {
                multiplier: 0,
                shift: 0,
            };
        }
        Multiplier {
            multiplier: fixed as i32,
            shift,
        }
    }

    /// `x · real` rounded to nearest in integer arithmetic (TensorFlow Lite's
    /// `MultiplyByQuantizedMultiplier`: a saturating rounding doubling high multiply, then a
    /// rounding right shift). Saturates instead of overflowing.
    #[inline(always)]
    pub fn apply(self, x: i32) -> i32 {
        let left = self.shift.clamp(0, 31);
        let right = (-self.shift).clamp(0, 31);
        let x = (i64::from(x) << left).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
        rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, self.multiplier), right)
    }
}

/// The high 32 bits of `2 · a · b`, rounded to nearest (ties toward +∞), saturating the
/// one overflowing case.
#[inline(always)]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge = if ab >= 0 { 1i64 << 30 } else { 1 - (1i64 << 30) };
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// `x / 2^exponent` rounded to nearest, ties away from zero (exponent in 0..=31).
#[inline(always)]
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let exponent = exponent.clamp(0, 31);
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// One int8 dense layer, integer only: `y[o] = clamp(zp_out + M[o](bias[o] + Σ w[o][i] x[i]),
/// min, max)`. `weights` holds `y.len()` rows of `x.len()` values; lengths that do not
/// agree stop at the shortest, never panic. `min`/`max` carry the activation (ReLU: `min =
/// zp_out`).
#[inline(always)]
#[allow(clippy::too_many_arguments)] // the quantization spec has this many parameters
pub fn dense_q8(
    weights: &[i8],
    bias: &[i32],
    multipliers: &[Multiplier],
    x: &[i8],
    zero_point_out: i32,
    min: i8,
    max: i8,
    y: &mut [i8],
) {
    let n = x.len().max(1);
    for (((y, row), &b), m) in y
        .iter_mut()
        .zip(weights.chunks_exact(n))
        .zip(bias)
        .zip(multipliers)
    {
        let out = zero_point_out.saturating_add(m.apply(accumulate(row, b, x)));
        *y = out.clamp(i32::from(min), i32::from(max)) as i8;
    }
}

/// The int32 sums of an int8 dense layer, `acc[o] = bias[o] + Σ w[o][i] x[i]`, for an output
/// layer that is dequantized (`acc · s_in · s_w[o]`) rather than requantized.
#[inline(always)]
pub fn dense_q8_accumulate(weights: &[i8], bias: &[i32], x: &[i8], acc: &mut [i32]) {
    let n = x.len().max(1);
    for ((acc, row), &b) in acc.iter_mut().zip(weights.chunks_exact(n)).zip(bias) {
        *acc = accumulate(row, b, x);
    }
}

/// `bias + Σ w · x` over one row, in wrapping int32 (no overflow for rows under 2^17 inputs).
#[inline(always)]
fn accumulate(row: &[i8], bias: i32, x: &[i8]) -> i32 {
    let mut acc = bias;
    for (&w, &x) in row.iter().zip(x) {
        acc = acc.wrapping_add(i32::from(w) * i32::from(x));
    }
    acc
}

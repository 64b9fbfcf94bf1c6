//! Integer kernels of int8 inference: the quantization of inputs, dot products, the
//! fixed-point requantization of hidden layers and the dequantization of the output layer.
//! Between the input and the output everything is integer arithmetic, so host and board
//! agree bit for bit by construction.
//!
//! Conventions (those of the TensorFlow Lite quantization spec, Jacob et al. 2018): weights
//! int8, symmetric, one scale per output channel; activations int8, asymmetric
//! (`real = scale · (q - zero_point)`) per tensor; bias int32 at scale `s_in · s_w[o]`, with
//! the input zero point folded in (`bias' = bias - zp_in · Σ_i w[o][i]`), so a layer's sum is
//! `acc[o] = bias'[o] + Σ_i w[o][i] · x[i]`.
//!
//! A hidden layer requantizes `acc[o]` by the real multiplier `s_in · s_w[o] / s_out`, held
//! as a [`Requantizer`]: `round(acc · multiplier / 2^(33 + shift))`, one 32×32→64 multiply
//! whose high word is shifted (`smull`, `asr`, `add`, `asr` on a Cortex-M4). The output layer
//! is dequantized instead (`acc[o] · s_in · s_w[o]` in f32) and its activation applied in f32,
//! which keeps softmax, sigmoid and tanh outputs as accurate as the sums.
//!
//! The dot products have two implementations with the same results: [`portable`], plain
//! integer Rust for every target, and, on Cortex-M4/M7 (`target_feature = "dsp"`), `dsp`,
//! which multiplies two 16-bit pairs per instruction (`sxtb16` + `smlad`). [`dot`] picks the
//! one the target has.

/// The largest real multiplier a [`Requantizer`] holds (exclusive).
pub const MAX_REQUANTIZER: f64 = 0.25;

/// The largest [`Requantizer::shift`].
pub const MAX_SHIFT: u8 = 31;

/// A real multiplier in (0, 0.25) as integers: `real ≈ multiplier / 2^(33 + shift)`, with
/// `multiplier` in [2^30, 2^31) unless `real` is below 2^-34 (then `shift` is 31 and
/// `multiplier` smaller, at least 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requantizer {
    /// The mantissa, positive.
    pub multiplier: i32,
    /// The exponent, 0 to [`MAX_SHIFT`].
    pub shift: u8,
}

impl Requantizer {
    /// The integer form of `real`; `None` unless 0 < `real` < [`MAX_REQUANTIZER`].
    pub fn from_real(real: f64) -> Option<Requantizer> {
        if !(real > 0.0 && real < MAX_REQUANTIZER) {
            return None;
        }
        // real = mantissa · 2^exponent, mantissa in [0.5, 1): multiplier = mantissa · 2^31
        // and 33 + shift = 31 - exponent.
        let (mantissa, exponent) = libm::frexp(real);
        let mut shift = -exponent - 2;
        let mut fixed = libm::round(mantissa * 2147483648.0) as i64;
        if fixed == 1i64 << 31 {
            fixed /= 2;
            shift -= 1;
        }
        if shift < 0 {
            return None;
        }
        if shift > i32::from(MAX_SHIFT) {
            fixed = (libm::round(real * libm::exp2(f64::from(33 + MAX_SHIFT))) as i64).max(1);
            shift = i32::from(MAX_SHIFT);
        }
        Some(Requantizer {
            multiplier: fixed as i32,
            shift: shift as u8,
        })
    }

    /// The real multiplier this stands for.
    pub fn real(self) -> f64 {
        f64::from(self.multiplier) / libm::exp2(f64::from(33 + self.shift))
    }

    /// `acc · real`, rounded to nearest (ties toward +∞): see [`requantize`].
    #[inline(always)]
    pub fn apply(self, acc: i32) -> i32 {
        requantize(acc, self.multiplier, self.shift)
    }
}

/// `round(acc · multiplier / 2^(33 + shift))`, ties toward +∞, exactly: the high word of
/// the 64-bit product, shifted right by `shift`, then halved with rounding
/// (`⌊(⌊P / 2^(32+s)⌋ + 1) / 2⌋ = ⌊(P + 2^(32+s)) / 2^(33+s)⌋`). Never overflows: the high
/// word is at most 2^30 in magnitude. A `shift` over 31 counts as `shift % 32`.
#[inline(always)]
pub fn requantize(acc: i32, multiplier: i32, shift: u8) -> i32 {
    let high = ((i64::from(acc) * i64::from(multiplier)) >> 32) as i32;
    ((high >> (shift & 31)) + 1) >> 1
}

/// Quantizes one (normalized) input: `clamp(⌊x · inv_scale + 0.5⌋ + zero_point, -128, 127)`,
/// the floor taken by truncating `x · inv_scale + 256.5` (positive wherever the result is
/// not clamped anyway); NaN becomes -128. The same f32 operations on every target.
#[inline(always)]
pub fn quantize_input(x: f32, inv_scale: f32, zero_point: i32) -> i8 {
    let steps = ((x * inv_scale + 256.5) as i32).saturating_sub(256);
    steps.saturating_add(zero_point).clamp(-128, 127) as i8
}

/// `bias + Σ row[i] · x[i]` in wrapping int32 (exact for rows under 2^17 inputs), over the
/// shorter of the two: with the DSP instructions where the target has them, else
/// [`portable::dot`]. Both give the same result.
#[inline(always)]
pub fn dot(row: &[i8], x: &[i8], bias: i32) -> i32 {
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    {
        dsp::dot(row, x, bias)
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "dsp")))]
    {
        portable::dot(row, x, bias)
    }
}

/// One hidden int8 layer: `y[o] = clamp(zero_point + requantize(acc[o]), min, 127)` with
/// `acc[o] = bias[o] + Σ_i weights[o][i] · x[i]`. `weights` holds `y.len()` rows of
/// `x.len()` values; lengths that do not agree stop at the shortest, never panic. `min`
/// carries the activation (ReLU: `min = zero_point`; linear: -128).
#[inline(always)]
#[allow(clippy::too_many_arguments)] // the quantization spec has this many parameters
pub fn dense_requantized(
    weights: &[i8],
    bias: &[i32],
    multiplier: &[i32],
    shift: &[u8],
    zero_point: i32,
    min: i8,
    x: &[i8],
    y: &mut [i8],
) {
    let n = x.len().max(1);
    let rows = weights
        .chunks_exact(n)
        .zip(bias)
        .zip(multiplier.iter().zip(shift));
    for (y, ((row, &b), (&m, &s))) in y.iter_mut().zip(rows) {
        let out = zero_point.wrapping_add(requantize(dot(row, x, b), m, s));
        *y = out.clamp(i32::from(min), 127) as i8;
    }
}

/// The output int8 layer, dequantized: `y[o] = scale[o] · acc[o]` in f32, with `acc` as in
/// [`dense_requantized`] and `scale[o] = s_in · s_w[o]`. The caller applies the activation.
#[inline(always)]
pub fn dense_dequantized(weights: &[i8], bias: &[i32], scale: &[f32], x: &[i8], y: &mut [f32]) {
    let n = x.len().max(1);
    for (y, ((row, &b), &s)) in y.iter_mut().zip(weights.chunks_exact(n).zip(bias).zip(scale)) {
        *y = dot(row, x, b) as f32 * s;
    }
}

/// The dot product in plain integer Rust, for every target.
pub mod portable {
    /// `bias + Σ row[i] · x[i]` in wrapping int32, over the shorter of the two.
    #[inline(always)]
    pub fn dot(row: &[i8], x: &[i8], bias: i32) -> i32 {
        row.iter().zip(x).fold(bias, |acc, (&w, &x)| {
            acc.wrapping_add(i32::from(w) * i32::from(x))
        })
    }
}

/// The dot product with the Cortex-M4's DSP instructions: four int8 products per word of
/// weights, as `sxtb16` (sign-extend bytes 0 and 2, or 1 and 3 after `ror #8`, into two
/// 16-bit halves) and `smlad` (two 16×16 products added to the sum). The pairs line up the
/// same way for weights and inputs, so the sum is the portable one, term for term.
#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
#[allow(unsafe_code)] // three instructions without stable intrinsics; each is pure register arithmetic
pub mod dsp {
    use core::arch::asm;

    /// Bytes 0 and 2 of `x`, sign-extended into the low and high halfwords.
    #[inline(always)]
    fn sxtb16(x: u32) -> u32 {
        let out;
        // SAFETY: reads and writes registers only.
        unsafe {
            asm!("sxtb16 {out}, {x}", out = lateout(reg) out, x = in(reg) x,
                 options(pure, nomem, nostack, preserves_flags));
        }
        out
    }

    /// Bytes 1 and 3 of `x`, sign-extended into the low and high halfwords.
    #[inline(always)]
    fn sxtb16_ror8(x: u32) -> u32 {
        let out;
        // SAFETY: reads and writes registers only.
        unsafe {
            asm!("sxtb16 {out}, {x}, ror #8", out = lateout(reg) out, x = in(reg) x,
                 options(pure, nomem, nostack, preserves_flags));
        }
        out
    }

    /// `acc + a.lo · b.lo + a.hi · b.hi` (signed halfwords; the sum wraps, setting the Q flag).
    #[inline(always)]
    fn smlad(a: u32, b: u32, acc: i32) -> i32 {
        let out;
        // SAFETY: reads and writes registers only (and the sticky Q flag, which nothing reads).
        unsafe {
            asm!("smlad {out}, {a}, {b}, {acc}", out = lateout(reg) out, a = in(reg) a,
                 b = in(reg) b, acc = in(reg) acc, options(pure, nomem, nostack));
        }
        out
    }

    /// `bias + Σ row[i] · x[i]` in wrapping int32, over the shorter of the two: whole words
    /// with `smlad`, the last 0-3 terms as [`super::portable::dot`].
    #[inline(always)]
    pub fn dot(row: &[i8], x: &[i8], bias: i32) -> i32 {
        let n = row.len().min(x.len());
        let (row, x) = (&row[..n], &x[..n]);
        let (row_words, row_tail) = row.as_chunks::<4>();
        let (x_words, x_tail) = x.as_chunks::<4>();
        let mut acc = bias;
        for (w, v) in row_words.iter().zip(x_words) {
            let (w, v): (u32, u32) = (bytemuck::cast(*w), bytemuck::cast(*v));
            acc = smlad(sxtb16(w), sxtb16(v), acc);
            acc = smlad(sxtb16_ror8(w), sxtb16_ror8(v), acc);
        }
        super::portable::dot(row_tail, x_tail, acc)
    }
}

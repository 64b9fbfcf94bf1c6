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
//! integer Rust for every target, and, on Cortex-M4/M7 (`thumbv7em` targets: build.rs sets
//! `cfg(nn_core_dsp)`), `dsp`,
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

    /// The integer form of `real` with a given `shift` (that of a layer's largest
    /// multiplier, so one shift serves the layer): `multiplier = round(real · 2^(33 + shift))`,
    /// at least 1. `None` if that does not fit an `i32` or `real` is not positive.
    pub fn with_shift(real: f64, shift: u8) -> Option<Requantizer> {
        if real.is_nan() || real <= 0.0 || shift > MAX_SHIFT {
            return None;
        }
        let fixed = libm::round(real * libm::exp2(f64::from(33 + shift)));
        if fixed >= 2147483648.0 {
            return None;
        }
        Some(Requantizer {
            multiplier: (fixed as i32).max(1),
            shift,
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
/// word is at most 2^30 in magnitude. A `shift` over 31 shifts out every bit (a valid file
/// has none: the Cortex-M `asr` does the same, so no masking instruction is needed).
#[inline(always)]
pub fn requantize(acc: i32, multiplier: i32, shift: u8) -> i32 {
    let high = ((i64::from(acc) * i64::from(multiplier)) >> 32) as i32;
    ((high >> (shift & 31)) + 1) >> 1
}

/// How a (normalized) input becomes int8, in integer arithmetic only (no float operation,
/// which a core without an FPU would pay for in software):
/// `q = clamp(⌊t + 1/2⌋ + zero_point, -128, 127)` with `t ≈ x / scale` computed from the 16
/// leading bits of the significands of `x` and of `1 / scale` (relative error below 2^-15,
/// a 256th of a step over the int8 range). Zero and subnormal inputs give the zero point;
/// NaN and ±∞ saturate by their sign bit. The same integer steps on every target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputQuantizer {
    /// The 16 leading bits of the significand of `1 / scale` (implicit one included).
    significand: u32,
    /// `283 -` the biased exponent of `1 / scale`: the right shift is this minus `x`'s.
    shift_base: i32,
    /// The int8 value of real 0.
    zero_point: i32,
}

impl InputQuantizer {
    /// The quantizer for a tensor of `scale` (positive) and `zero_point`.
    pub fn new(scale: f32, zero_point: i32) -> InputQuantizer {
        let bits = (1.0 / scale).to_bits();
        let exponent = ((bits >> 23) & 0xff) as i32;
        InputQuantizer {
            significand: (bits >> 8) & 0x7fff | u32::from(exponent != 0) << 15,
            shift_base: 283 - exponent,
            zero_point,
        }
    }

    /// The int8 value of `x`.
    #[inline(always)]
    pub fn quantize(&self, x: f32) -> i8 {
        // x = ±m · 2^(e - 150) with the 24-bit significand m; with the 16 leading bits of m
        // and of 1/scale, |t| = p · 2^(e_x + e_inv - 284), p < 2^32, and
        // ⌊t + 1/2⌋ = ⌊(p + 2^(k-1)) / 2^k⌋ for t ≥ 0, -⌊(p - 1 + 2^(k-1)) / 2^k⌋ for t < 0,
        // each as ((v >> (k-1)) + 1) >> 1. No branch on the value (selects only), so every
        // input costs the same: k ≥ 33 shifts everything out (0); k ≤ 0 saturates (512, like
        // any |t| ≥ 512). Zero and subnormals (exponent 0) count as 0.
        let bits = x.to_bits();
        let exponent = ((bits >> 23) & 0xff) as i32;
        let normal = u32::from(exponent != 0);
        let negative = (bits >> 31) & normal;
        let p = ((bits >> 8) & 0x7fff | 0x8000) * self.significand * normal;
        let v = p - negative;
        let shift = (self.shift_base - exponent).clamp(0, 32) as u32;
        // A mask rather than an `if`, which the compiler turns into a branch around the rest.
        let shifted = (v >> (shift & 31)) & 0u32.wrapping_sub(u32::from(shift < 32));
        let magnitude = ((shifted >> 1) + (shifted & 1)).min(512) as i32;
        let sign = -(negative as i32); // 0 or -1: negate by xor and add
        let rounded = (magnitude ^ sign) - sign;
        rounded.wrapping_add(self.zero_point).clamp(-128, 127) as i8
    }

    /// Quantizes `x` into `q` (as many as both have): on the Cortex-M4 one shared loop for
    /// every network, typed or run-time (never inlined there: each typed network kept its
    /// own unrolled copy, some 300 bytes of flash a shape); inlined on the Cortex-M0, where
    /// the call cost 30 instructions an inference.
    /// On the Cortex-M4 it is an assembly loop (`dsp::quantize`: 22 instructions an input
    /// where the compiler's took about 38), the same steps, so the same values (checked on
    /// the board against [`InputQuantizer::quantize`]: DSPCHECK).
    #[cfg_attr(nn_core_dsp, inline(never))]
    pub fn quantize_slice(&self, x: &[f32], q: &mut [i8]) {
        #[cfg(nn_core_dsp)]
        {
            dsp::quantize(self, x, q);
        }
        #[cfg(not(nn_core_dsp))]
        for (q, &x) in q.iter_mut().zip(x) {
            *q = self.quantize(x);
        }
    }
}

/// The output activation of the int8 kind, on the output layer's dequantized sums, in place:
/// softmax as [`softmax_exp2`], every other activation as the f32 kind's
/// ([`activate`](crate::activation::activate)).
#[inline(always)]
pub fn activate_output(activation: crate::Activation, y: &mut [f32]) {
    if activation == crate::Activation::Softmax {
        softmax_exp2(y);
    } else {
        crate::activation::activate(activation, y);
    }
}

/// `2^(-k/64)` in Q24 (`round(2^(24 - k/64))`), k = 0..=64.
const EXP2_NEG_Q24: [u32; 65] = [
    16777216, 16596492, 16417715, 16240863, 16065917, 15892855, 15721658, 15552304, 15384775, 15219050,
    15055111, 14892937, 14732511, 14573813, 14416824, 14261526, 14107901, 13955931, 13805598, 13656884,
    13509772, 13364245, 13220286, 13077877, 12937002, 12797645, 12659789, 12523418, 12388516, 12255067,
    12123055, 11992466, 11863283, 11735492, 11609078, 11484025, 11360319, 11237946, 11116891, 10997140,
    10878679, 10761494, 10645571, 10530897, 10417458, 10305242, 10194234, 10084422, 9975792, 9868333,
    9762032, 9656875, 9552851, 9449948, 9348154, 9247455, 9147842, 9049301, 8951823, 8855394, 8760003,
    8665641, 8572295, 8479954, 8388608,
];

/// `2^(-u / 2^16)` in Q24, for `u ≥ 0`: the table's 64ths interpolated linearly (relative
/// error below 2^-16), shifted right by the integer part.
#[inline(always)]
pub fn exp2_neg_q24(u: u32) -> u32 {
    // Past 2^-24 the result is 0 anyway: the shift saturates instead of branching.
    let whole = (u >> 16).min(31);
    let k = ((u >> 10) & 63) as usize;
    let fraction = u & 0x3ff;
    let (a, b) = (EXP2_NEG_Q24[k], EXP2_NEG_Q24[k + 1]);
    (a - (((a - b) * fraction) >> 10)) >> whole
}

/// Softmax in place with an integer exponential: `e_o = 2^(-(max - z_o) · log2 e)` by
/// [`exp2_neg_q24`] (exact integers), `y_o = e_o / Σ e` in f32. No libm: about 20 integer
/// and 4 f32 operations per output, where `expf` costs 60 instructions on a Cortex-M4F and
/// over 2,000 on a Cortex-M0+ without FPU. Each probability is within 10^-4 of itself plus
/// 10^-7 of the exact one (the Q24 exponentials lose their last bits when shifted).
///
/// Not inlined on the Cortex-M4 (one copy for every network: inlined, each typed int8
/// network kept its own, 1 KB of flash for digits, for 2% of its instructions); inlined on
/// the Cortex-M0, whose figures it keeps.
#[cfg_attr(nn_core_dsp, inline(never))]
pub fn softmax_exp2(z: &mut [f32]) {
    let max = z
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    let mut sum = 0u64;
    for v in z.iter_mut() {
        // (max - z) · log2(e) in Q16; saturating (NaN gives 0).
        let u = ((max - *v) * (core::f32::consts::LOG2_E * 65536.0)) as u32;
        let e = exp2_neg_q24(u);
        sum += u64::from(e);
        *v = e as f32; // below 2^25: exact
    }
    let inv = 1.0 / sum.max(1) as f32;
    for v in z.iter_mut() {
        *v *= inv;
    }
}

/// `bias + Σ row[i] · x[i]` in wrapping int32 (exact for rows under 2^17 inputs), over the
/// shorter of the two: with the DSP instructions where the target has them, else
/// [`portable::dot`]. Both give the same result.
#[inline(always)]
pub fn dot(row: &[i8], x: &[i8], bias: i32) -> i32 {
    #[cfg(nn_core_dsp)]
    {
        dsp::dot(row, x, bias)
    }
    #[cfg(not(nn_core_dsp))]
    {
        portable::dot(row, x, bias)
    }
}

/// `bias[r] + Σ rows[r][i] · x[i]` for four rows at once (each input word is loaded and
/// widened once for the four): as [`dot`], four times.
#[inline(always)]
pub fn dot4(rows: [&[i8]; 4], x: &[i8], bias: [i32; 4]) -> [i32; 4] {
    #[cfg(nn_core_dsp)]
    {
        dsp::dot4(rows, x, bias)
    }
    #[cfg(not(nn_core_dsp))]
    {
        portable::dot4(rows, x, bias)
    }
}

/// With the DSP path, rows at least this long are summed four at a time ([`dot4`], the
/// assembly loop); shorter ones one at a time, whose loops the compiler unrolls with the
/// inputs kept widened in registers. Measured on the Cortex-M4 with the assembly loop:
/// sine 1-16-16-1 1,194 instructions from 16 (1,198 from 32), on the run-time path 2,252
/// (2,395). Without it (Cortex-M0) one row at a time throughout: four rows spill the M0's
/// eight registers (digits 28,359 instructions and 980 B of stack four at a time, 27,157
/// and 492 B one at a time).
const FOUR_ROWS_FROM: usize = 16;

/// The sums `acc[o] = bias[o] + Σ_i weights[o][i] · x[i]` of a layer, each handed with the
/// next item of `outputs` (the output's slot and parameters) to `emit`. `weights` holds rows
/// of `x.len()` values; lengths that do not agree stop at the shortest, never panic.
#[inline(always)]
fn layer_sums<T>(
    weights: &[i8],
    bias: &[i32],
    x: &[i8],
    mut outputs: impl Iterator<Item = T>,
    mut emit: impl FnMut(T, i32),
) {
    let n = x.len().max(1);
    let mut done = 0;
    if n >= FOUR_ROWS_FROM && cfg!(nn_core_dsp) {
        for (rows, b) in weights.chunks_exact(4 * n).zip(bias.chunks_exact(4)) {
            let (r01, r23) = rows.split_at(2 * n);
            let (r0, r1) = r01.split_at(n);
            let (r2, r3) = r23.split_at(n);
            for acc in dot4([r0, r1, r2, r3], x, [b[0], b[1], b[2], b[3]]) {
                let Some(out) = outputs.next() else { return };
                emit(out, acc);
            }
            done += 4;
        }
    }
    let rows = weights.chunks_exact(n).zip(bias).skip(done);
    for ((row, &b), out) in rows.zip(outputs) {
        emit(out, dot(row, x, b));
    }
}

/// One hidden int8 layer: `y[o] = max(clamp(zero_point + requantize(acc[o], multiplier[o],
/// shift), -128, 127), min)`
/// with `acc[o] = bias[o] + Σ_i weights[o][i] · x[i]`. `weights` holds `y.len()` rows of
/// `x.len()` values; lengths that do not agree stop at the shortest, never panic. `min`
/// carries the activation (ReLU: `min = zero_point`; linear: -128).
#[inline(always)]
#[allow(clippy::too_many_arguments)] // the quantization spec has this many parameters
pub fn dense_requantized(
    weights: &[i8],
    bias: &[i32],
    multiplier: &[i32],
    shift: u8,
    zero_point: i32,
    min: i8,
    x: &[i8],
    y: &mut [i8],
) {
    let outputs = y.iter_mut().zip(multiplier);
    layer_sums(weights, bias, x, outputs, |(y, &m), acc| {
        let out = zero_point.wrapping_add(requantize(acc, m, shift));
        *y = (out.clamp(-128, 127) as i8).max(min);
    });
}

/// A hidden int8 layer whole ([`crate::Int8Stage::Requantize`]): the sums requantized to
/// the output tensor with its activation's clamp ([`crate::format::hidden_min`]), or, for a
/// tanh or sigmoid layer, to its pre-activation tensor and then through its table.
#[inline(always)]
#[allow(clippy::too_many_arguments)] // the quantization spec has this many parameters
pub fn hidden_layer(
    weights: &[i8],
    bias: &[i32],
    multiplier: &[i32],
    shift: u8,
    activation: crate::Activation,
    output: crate::format::QuantParams,
    lookup: Option<&crate::format::Lookup<'_>>,
    x: &[i8],
    y: &mut [i8],
) {
    match lookup {
        Some(lookup) => {
            dense_requantized(
                weights,
                bias,
                multiplier,
                shift,
                lookup.input.zero_point,
                -128,
                x,
                y,
            );
            lookup.apply(y);
        }
        None => {
            let min = crate::format::hidden_min(activation, output.zero_point);
            dense_requantized(weights, bias, multiplier, shift, output.zero_point, min, x, y);
        }
    }
}

/// The output int8 layer, dequantized: `y[o] = scale[o] · acc[o]` in f32, with `acc` as in
/// [`dense_requantized`] and `scale[o] = s_in · s_w[o]`. The caller applies the activation.
#[inline(always)]
pub fn dense_dequantized(weights: &[i8], bias: &[i32], scale: &[f32], x: &[i8], y: &mut [f32]) {
    layer_sums(weights, bias, x, y.iter_mut().zip(scale), |(y, &s), acc| {
        *y = acc as f32 * s;
    });
}

/// A layer of TensorFlow Lite Micro's arithmetic ([`crate::TflmStage`]), the int8 kernel of
/// its `FULLY_CONNECTED`: `y[o] = clamp(zp + MultiplyByQuantizedMultiplier(acc[o],
/// multiplier[o], shift[o]))` with `acc` as in [`dense_requantized`] and the activation's
/// clamp (ReLU at the zero point), then a tanh or sigmoid table in place. A softmax is the
/// caller's ([`crate::tflm::softmax`], from `y` into another buffer).
#[inline(always)]
pub fn tflm_dense(
    weights: &[i8],
    bias: &[i32],
    stage: &crate::TflmStage<'_>,
    activation: crate::Activation,
    rounding: crate::tflm::Rounding,
    x: &[i8],
    y: &mut [i8],
) {
    let zero_point = stage.sums.zero_point;
    let min = crate::format::hidden_min(activation, zero_point);
    let outputs = y.iter_mut().zip(stage.multiplier).zip(stage.shift);
    layer_sums(weights, bias, x, outputs, |((y, &m), &s), acc| {
        let out = crate::tflm::multiply_by_quantized_multiplier(acc, m, s, rounding).wrapping_add(zero_point);
        *y = (out.clamp(-128, 127) as i8).max(min);
    });
    if let crate::TflmActivation::Table { table, .. } = stage.activation {
        look_up(table, y);
    }
}

/// Each int8 value `v` of `y` replaced by `table[v + 128]` (an activation's table), in place.
#[inline]
pub fn look_up(table: &[i8; 256], y: &mut [i8]) {
    for v in y {
        *v = table[(i32::from(*v) + 128) as usize & 0xFF];
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

    /// [`dot`] for four rows.
    #[inline(always)]
    pub fn dot4(rows: [&[i8]; 4], x: &[i8], bias: [i32; 4]) -> [i32; 4] {
        [
            dot(rows[0], x, bias[0]),
            dot(rows[1], x, bias[1]),
            dot(rows[2], x, bias[2]),
            dot(rows[3], x, bias[3]),
        ]
    }
}

/// The dot product with the Cortex-M4's DSP instructions: four int8 products per word of
/// weights, as `sxtb16` (sign-extend bytes 0 and 2, or 1 and 3 after `ror #8`, into two
/// 16-bit halves) and `smlad` (two 16×16 products added to the sum). The pairs line up the
/// same way for weights and inputs, so the sum is the portable one, term for term.
#[cfg(nn_core_dsp)]
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

    /// [`dot`] for four rows, each input word loaded and widened once: whole words by the
    /// assembly loop below, the last 0-3 terms as [`super::portable::dot`].
    #[inline(always)]
    pub fn dot4(rows: [&[i8]; 4], x: &[i8], bias: [i32; 4]) -> [i32; 4] {
        let n = rows.iter().fold(x.len(), |n, r| n.min(r.len()));
        let words = n / 4;
        let mut acc = bias;
        if words > 0 {
            words4(rows, x, words, &mut acc);
        }
        let done = words * 4;
        for (acc, row) in acc.iter_mut().zip(rows) {
            *acc = super::portable::dot(
                row.get(done..n).unwrap_or_default(),
                x.get(done..n).unwrap_or_default(),
                *acc,
            );
        }
        acc
    }

    /// `acc[r] += Σ rows[r][i] · x[i]` over the first `4 · words` inputs of four rows that
    /// are each `stride` bytes after the previous one (as in a layer's weights), by
    /// [`nn_core_dsp_words4`]; `rows` must be consecutive in one slice for that, else
    /// (never in a layer) the same sums word by word in Rust.
    #[inline(always)]
    fn words4(rows: [&[i8]; 4], x: &[i8], words: usize, acc: &mut [i32; 4]) {
        let base = rows[0].as_ptr() as usize;
        let stride = (rows[1].as_ptr() as usize).wrapping_sub(base);
        let evenly = rows[2].as_ptr() as usize == base.wrapping_add(2 * stride)
            && rows[3].as_ptr() as usize == base.wrapping_add(3 * stride);
        let fits = 4 * words <= x.len() && rows.iter().all(|r| 4 * words <= r.len());
        if evenly && fits {
            // SAFETY: reads `4 · words` bytes of `x` and of each row, whose starts are
            // `base + r · stride` (checked just above) and which each hold at least that many
            // (checked); reads and writes the four sums of `acc`; follows the AAPCS (r4-r11
            // and lr saved and restored).
            unsafe { nn_core_dsp_words4(acc.as_mut_ptr(), x.as_ptr(), rows[0].as_ptr(), stride, words) }
        } else {
            words4_apart(rows, x, words, acc);
        }
    }

    /// [`words4`] for rows that do not lie evenly in one slice (never so in a layer): one
    /// at a time, out of line, so no network carries a copy.
    #[cold]
    #[inline(never)]
    fn words4_apart(rows: [&[i8]; 4], x: &[i8], words: usize, acc: &mut [i32; 4]) {
        for (acc, row) in acc.iter_mut().zip(rows) {
            *acc = dot(row.get(..4 * words).unwrap_or_default(), x, *acc);
        }
    }

    // The four-row loop, 25 instructions per four inputs of four rows (the compiler's
    // code took 34: it kept one sum on the stack). r0: the four sums; r1: the inputs;
    // r2: row 0; r3: bytes from one row to the next; [sp]: words (at least 1). Rows may
    // start anywhere (the Cortex-M4 loads unaligned words).
    core::arch::global_asm!(
        ".section .text.nn_core_dsp_words4,\"ax\",%progbits",
        ".global nn_core_dsp_words4",
        ".type nn_core_dsp_words4,%function",
        ".thumb_func",
        "nn_core_dsp_words4:",
        "push {{r0, r4, r5, r6, r7, r8, r9, r10, r11, lr}}",
        "ldr r10, [sp, #40]",
        "add r10, r1, r10, lsl #2",
        "ldm r0, {{r4, r5, r6, r7}}",
        "sub r3, r3, #4",
        "add r8, r3, r3",
        "add r8, r8, #4",
        "add r9, r8, r3",
        "add r9, r9, #4",
        "1:",
        "ldr r11, [r1], #4",
        "sxtb16 r12, r11",
        "sxtb16 r11, r11, ror #8",
        "ldr r0, [r2], #4",
        "sxtb16 lr, r0",
        "smlad r4, lr, r12, r4",
        "sxtb16 lr, r0, ror #8",
        "smlad r4, lr, r11, r4",
        "ldr r0, [r2, r3]",
        "sxtb16 lr, r0",
        "smlad r5, lr, r12, r5",
        "sxtb16 lr, r0, ror #8",
        "smlad r5, lr, r11, r5",
        "ldr r0, [r2, r8]",
        "sxtb16 lr, r0",
        "smlad r6, lr, r12, r6",
        "sxtb16 lr, r0, ror #8",
        "smlad r6, lr, r11, r6",
        "ldr r0, [r2, r9]",
        "sxtb16 lr, r0",
        "smlad r7, lr, r12, r7",
        "sxtb16 lr, r0, ror #8",
        "smlad r7, lr, r11, r7",
        "cmp r1, r10",
        "bne 1b",
        "pop {{r0}}",
        "stm r0, {{r4, r5, r6, r7}}",
        "pop {{r4, r5, r6, r7, r8, r9, r10, r11, pc}}",
        ".size nn_core_dsp_words4, . - nn_core_dsp_words4",
    );

    unsafe extern "C" {
        fn nn_core_dsp_words4(acc: *mut i32, x: *const i8, row0: *const i8, stride: usize, words: usize);
        fn nn_core_dsp_quantize(q: *mut i8, x: *const f32, n: usize, params: *const [u32; 4]);
    }

    // InputQuantizer::quantize over a slice. r0: q; r1: x; r2: n (at least 1); r3: the
    // quantizer as [0x8000 · significand, significand, shift_base, zero_point]. The steps of
    // `quantize`, with two liberties that change no value: a zero or subnormal input gets
    // a shift past 31 (its significand then shifts out whatever its sign, where `quantize`
    // zeroes it), and the magnitude is capped at 511 before its rounding bit is added
    // (511 or 512 where `quantize` caps at 512: either saturates once the zero point,
    // within -128..127, is added).
    core::arch::global_asm!(
        ".section .text.nn_core_dsp_quantize,\"ax\",%progbits",
        ".global nn_core_dsp_quantize",
        ".type nn_core_dsp_quantize,%function",
        ".thumb_func",
        "nn_core_dsp_quantize:",
        "push {{r4, r5, r6, r7, r8, r9, lr}}",
        "add r2, r1, r2, lsl #2",
        "ldm r3, {{r3, r4, r5, r6}}",
        "1:",
        "ldr r7, [r1], #4",
        "ubfx r8, r7, #8, #15",
        "mla r8, r8, r4, r3",
        "ubfx r9, r7, #23, #8",
        "cmp r9, #0",
        "it eq",
        "mvneq r9, #255",
        "asr r7, r7, #31",
        "add r8, r8, r7",
        "sub r9, r5, r9",
        "usat r9, #6, r9",
        "lsr r8, r8, r9",
        "lsrs r8, r8, #1",
        "usat r8, #9, r8",
        "adc r8, r8, #0",
        "eor r8, r8, r7",
        "sub r8, r8, r7",
        "add r8, r8, r6",
        "ssat r8, #8, r8",
        "strb r8, [r0], #1",
        "cmp r1, r2",
        "bne 1b",
        "pop {{r4, r5, r6, r7, r8, r9, pc}}",
        ".size nn_core_dsp_quantize, . - nn_core_dsp_quantize",
    );

    /// `q[i] = quantizer.quantize(x[i])` for as many as both have.
    #[inline(always)]
    pub fn quantize(quantizer: &super::InputQuantizer, x: &[f32], q: &mut [i8]) {
        let n = x.len().min(q.len());
        if n == 0 {
            return;
        }
        let params = [
            quantizer.significand.wrapping_mul(0x8000),
            quantizer.significand,
            quantizer.shift_base as u32,
            quantizer.zero_point as u32,
        ];
        // SAFETY: reads `n` f32 of `x` and writes `n` bytes of `q` (n is at most either
        // length, and at least 1); reads the four words of `params`; follows the AAPCS
        // (r4-r9 and lr saved and restored).
        unsafe { nn_core_dsp_quantize(q.as_mut_ptr(), x.as_ptr(), n, &params) }
    }
}

//! TensorFlow Lite Micro's int8 arithmetic, integer for integer: what an int8 file of the
//! TFLite Micro kind ([`crate::format::Int8Rules::TfliteMicro`]) computes, so that a model
//! converted by TensorFlow Lite gives on the board exactly the int8 values TFLite Micro's
//! reference kernels give.
//!
//! Written from the semantics of TFLite's reference kernels and of gemmlowp's fixed-point
//! library: a fixed-point number with `k`
//! integer bits is an `i32` `raw` standing for `raw / 2^(31 - k)`; a product of two is their
//! saturating rounding doubling high multiply, so its integer bits add up. Each function
//! says which of TFLite's it follows. Every function is total: no input panics (the
//! wrapping and saturating steps are TFLite's own where it has them, and wrap where C++
//! would overflow).
//!
//! The board runs [`multiply_by_quantized_multiplier`], [`quantize`] and [`softmax`]; the
//! rest builds the tables and parameters an importer stores in the file
//! ([`logistic_table`], [`tanh_table`], [`SoftmaxParams::new`], [`quantize_multiplier`]).

/// How TFLite requantizes ([`multiply_by_quantized_multiplier`]): a build choice of
/// TFLite's (`TFLITE_SINGLE_ROUNDING`), so a file says which it follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rounding {
    /// Two roundings, gemmlowp's: a rounding doubling high multiply, then a rounding
    /// right shift. TFLite Micro's default build (and TFLite's without the option).
    #[default]
    Double,
    /// One rounding of the 64-bit product, ties toward +∞: TFLite built with
    /// `TFLITE_SINGLE_ROUNDING=1`, as TensorFlow's own Python interpreter is (measured:
    /// its reference kernels give these values).
    Single,
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: `round(a · b / 2^31)`, ties away from
/// zero, saturating the one overflowing case (`i32::MIN · i32::MIN`).
#[inline]
pub fn doubling_high_mul(a: i32, b: i32) -> i32 {
    let product = i64::from(a) * i64::from(b);
    let nudge: i64 = if product >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Division truncating toward zero, as C++'s.
    let high = ((product + nudge) / (1i64 << 31)) as i32;
    // i32::MIN · i32::MIN saturates (computed anyway: the same steps for every value).
    select(a == i32::MIN && b == i32::MIN, i32::MAX, high)
}

/// `if condition { a } else { b }` by a mask, with no branch: the kernels the board runs
/// take the same steps whatever the values (a fixed cost per inference).
#[inline(always)]
fn select(condition: bool, a: i32, b: i32) -> i32 {
    let mask = -i32::from(condition);
    (a & mask) | (b & !mask)
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest, ties away from
/// zero. `exponent` is taken modulo 32 (TFLite's are 0 to 31).
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    let exponent = exponent & 31;
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// gemmlowp's `SaturatingRoundingMultiplyByPOT`: `x · 2^exponent`, saturating for a
/// positive exponent, rounding ([`rounding_divide_by_pot`]) for a negative one.
#[inline]
fn multiply_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent > 0 {
        let threshold = ((1i64 << (31 - exponent.min(31))) - 1) as i32;
        if x > threshold {
            i32::MAX
        } else if x < -threshold {
            i32::MIN
        } else {
            x << exponent
        }
    } else {
        rounding_divide_by_pot(x, exponent.unsigned_abs())
    }
}

/// TFLite's `MultiplyByQuantizedMultiplier`: `x · multiplier · 2^shift / 2^31` rounded.
/// [`Rounding::Double`]: a left shift of `x` by a positive `shift`, [`doubling_high_mul`],
/// then [`rounding_divide_by_pot`] by a negative one; [`Rounding::Single`]: the 64-bit
/// product plus half, shifted right once. `shift` is -31 to 30 in a valid file.
#[inline]
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32, rounding: Rounding) -> i32 {
    match rounding {
        Rounding::Double => {
            let left = shift.clamp(0, 31) as u32;
            let right = (-shift).clamp(0, 31) as u32;
            rounding_divide_by_pot(doubling_high_mul(x.wrapping_mul(1 << left), multiplier), right)
        }
        Rounding::Single => {
            let total = (31 - shift).clamp(1, 62) as u32;
            let product = i64::from(x) * i64::from(multiplier) + (1i64 << (total - 1));
            (product >> total) as i32
        }
    }
}

/// TFLite's `QuantizeMultiplier`: `real` as `(multiplier, shift)` with `real ≈ multiplier ·
/// 2^shift / 2^31` and `multiplier` in [2^30, 2^31); 0 for 0 and for `real` below about
/// 2^-31 (TFLite's flush to zero). `None` for a negative or non-finite `real`, or one of
/// 2^30 or more (no valid shift; [`Rounding::Single`] saturates it, as TFLite does).
pub fn quantize_multiplier(real: f64, rounding: Rounding) -> Option<(i32, i32)> {
    if !real.is_finite() || real < 0.0 {
        return None;
    }
    if real == 0.0 {
        return Some((0, 0));
    }
    let (fraction, mut shift) = libm::frexp(real);
    let mut fixed = libm::round(fraction * 2147483648.0) as i64;
    if fixed == 1 << 31 {
        fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return Some((0, 0));
    }
    if shift > 30 {
        return (rounding == Rounding::Single).then_some((i32::MAX, 30));
    }
    Some((fixed as i32, shift))
}

/// TFLite's `QUANTIZE` of a float input (`AffineQuantize`): `round(x / scale) + zero_point`
/// in f32, ties away from zero, clamped to int8 (NaN counts as 0, ±∞ saturate).
#[inline]
pub fn quantize(x: f32, scale: f32, zero_point: i32) -> i8 {
    let steps = libm::roundf(x / scale) as i32; // saturating; NaN gives 0
    steps.saturating_add(zero_point).clamp(-128, 127) as i8
}

/// gemmlowp's `exp_on_interval_between_negative_one_quarter_and_0_excl` (0 integer bits in
/// and out): a Taylor expansion around -1/8.
fn exp_on_quarter_interval(a: i32) -> i32 {
    const EXP_MINUS_ONE_EIGHTH: i32 = 1_895_147_668;
    const ONE_THIRD: i32 = 715_827_883;
    let x = a.wrapping_add(1 << 28);
    let x2 = doubling_high_mul(x, x);
    let x3 = doubling_high_mul(x2, x);
    let x4 = doubling_high_mul(x2, x2);
    let x4_over_4 = rounding_divide_by_pot(x4, 2);
    let sum = doubling_high_mul(x4_over_4.wrapping_add(x3), ONE_THIRD).wrapping_add(x2);
    let polynomial = rounding_divide_by_pot(sum, 1);
    EXP_MINUS_ONE_EIGHTH.wrapping_add(doubling_high_mul(
        EXP_MINUS_ONE_EIGHTH,
        x.wrapping_add(polynomial),
    ))
}

/// gemmlowp's `exp_on_negative_values`: `exp(a)` for `a ≤ 0` with `integer_bits` (0 to 28)
/// integer bits, the result with 0 (1.0 is `i32::MAX`).
pub fn exp_on_negative_values(a: i32, integer_bits: u32) -> i32 {
    /// `exp(-2^k)` with 0 integer bits, for k = -2 to 4.
    const BARREL: [(i32, i32); 7] = [
        (-2, 1_672_461_947),
        (-1, 1_302_514_674),
        (0, 790_015_084),
        (1, 290_630_308),
        (2, 39_332_535),
        (3, 720_401),
        (4, 242),
    ];
    let integer_bits = integer_bits.min(28) as i32;
    let fractional_bits = 31 - integer_bits;
    let one_quarter = 1i32 << (fractional_bits - 2);
    let a_mod_quarter_minus_quarter = (a & (one_quarter - 1)).wrapping_sub(one_quarter);
    let mut result = exp_on_quarter_interval(multiply_by_pot(a_mod_quarter_minus_quarter, integer_bits));
    let remainder = a_mod_quarter_minus_quarter.wrapping_sub(a);
    for (exponent, multiplier) in BARREL {
        if integer_bits > exponent {
            let bit = fractional_bits + exponent;
            let product = doubling_high_mul(result, multiplier);
            result = select(remainder & (1 << bit) != 0, product, result);
        }
    }
    if integer_bits > 5 {
        result = select(a < -(1 << (36 - integer_bits)), 0, result);
    }
    select(a == 0, i32::MAX, result)
}

/// gemmlowp's Newton-Raphson step shared by `one_over_one_plus_x_for_x_in_0_1` and
/// `one_minus_x_over_one_plus_x_for_x_in_0_1`: `1 / (1 + a)` for `a` in [0, 1) (0 integer
/// bits), with 2 integer bits.
fn reciprocal_of_one_plus(a: i32) -> i32 {
    const FORTY_EIGHT_OVER_SEVENTEEN: i32 = 1_515_870_810;
    const MINUS_THIRTY_TWO_OVER_SEVENTEEN: i32 = -1_010_580_540;
    const ONE_WITH_2_INTEGER_BITS: i32 = 1 << 29;
    // (a + 1) / 2 rounded, ties away from zero ("rounding half sum" with 1.0 = i32::MAX).
    let sum = i64::from(a) + i64::from(i32::MAX);
    let half_denominator = ((sum + if sum >= 0 { 1 } else { -1 }) / 2) as i32;
    let mut x = FORTY_EIGHT_OVER_SEVENTEEN.wrapping_add(doubling_high_mul(
        half_denominator,
        MINUS_THIRTY_TWO_OVER_SEVENTEEN,
    ));
    for _ in 0..3 {
        let half_denominator_times_x = doubling_high_mul(half_denominator, x);
        let one_minus = ONE_WITH_2_INTEGER_BITS.wrapping_sub(half_denominator_times_x);
        x = x.wrapping_add(multiply_by_pot(doubling_high_mul(x, one_minus), 2));
    }
    x
}

/// gemmlowp's `one_over_one_plus_x_for_x_in_0_1`: `1 / (1 + a)`, 0 integer bits in and out.
pub fn one_over_one_plus(a: i32) -> i32 {
    // x / 2 with 1 integer bit is the same raw value; rescaled to 0 integer bits.
    multiply_by_pot(reciprocal_of_one_plus(a), 1)
}

/// gemmlowp's `one_minus_x_over_one_plus_x_for_x_in_0_1`: `(1 - a) / (1 + a)`.
fn one_minus_over_one_plus(a: i32) -> i32 {
    multiply_by_pot(reciprocal_of_one_plus(a).wrapping_sub(1 << 29), 2)
}

/// gemmlowp's `logistic`: `1 / (1 + exp(-a))`, `a` with `integer_bits` integer bits, the
/// result with 0.
pub fn logistic(a: i32, integer_bits: u32) -> i32 {
    if a == 0 {
        return 1 << 30;
    }
    let magnitude = if a > 0 { a } else { a.wrapping_neg() };
    let positive = one_over_one_plus(exp_on_negative_values(magnitude.wrapping_neg(), integer_bits));
    if a > 0 {
        positive
    } else {
        i32::MAX.wrapping_sub(positive)
    }
}

/// gemmlowp's `tanh`: `a` with `integer_bits` integer bits, the result with 0.
pub fn tanh(a: i32, integer_bits: u32) -> i32 {
    if a == 0 {
        return 0;
    }
    let negative_magnitude = if a < 0 { a } else { a.wrapping_neg() };
    // -tanh(n) for n < 0: (1 - e^(2n)) / (1 + e^(2n)); 2n is n with one more integer bit.
    let t = one_minus_over_one_plus(exp_on_negative_values(negative_magnitude, integer_bits + 1));
    if a < 0 { t.wrapping_neg() } else { t }
}

/// How TFLite Micro's int8 `LOGISTIC` and `TANH` rescale their input (their `Prepare`): to
/// 4 integer bits by a multiplier and left shift, saturating beyond a radius.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ActivationInput {
    zero_point: i32,
    multiplier: i32,
    left_shift: i32,
    radius: i32,
    rounding: Rounding,
}

impl ActivationInput {
    const INTEGER_BITS: i32 = 4;

    /// `None` where TFLite's arithmetic would leave its range (a scale below 2^-27 or above
    /// 2^3).
    fn new(scale: f32, zero_point: i32, rounding: Rounding) -> Option<ActivationInput> {
        let real = f64::from(scale) * f64::from(1i32 << (31 - Self::INTEGER_BITS));
        let (fraction, left_shift) = libm::frexp(real);
        let multiplier = libm::round(fraction * 2147483648.0);
        if !(0..=30).contains(&left_shift) || multiplier >= 2147483648.0 {
            return None;
        }
        let radius = libm::floor(
            f64::from((1 << Self::INTEGER_BITS) - 1) * (1i64 << (31 - Self::INTEGER_BITS)) as f64
                / (1i64 << left_shift) as f64,
        );
        Some(ActivationInput {
            zero_point,
            multiplier: multiplier as i32,
            left_shift,
            radius: radius as i32,
            rounding,
        })
    }

    /// `q`'s value with 4 integer bits, or the saturated output (`Err(-128 or 127)`).
    fn rescale(&self, q: i8) -> Result<i32, i8> {
        let input = i32::from(q) - self.zero_point;
        if input <= -self.radius {
            Err(-128)
        } else if input >= self.radius {
            Err(127)
        } else {
            Ok(multiply_by_quantized_multiplier(
                input,
                self.multiplier,
                self.left_shift,
                self.rounding,
            ))
        }
    }
}

/// TFLite Micro's int8 `LOGISTIC` for every input value, as a table (`table[q + 128]`):
/// input of `scale` and `zero_point`, output of scale 1/256 and zero point -128 (the only
/// output TFLite allows). `None` for a scale outside TFLite's range.
pub fn logistic_table(scale: f32, zero_point: i32, rounding: Rounding) -> Option<[i8; 256]> {
    let input = ActivationInput::new(scale, zero_point, rounding)?;
    Some(table(|q| match input.rescale(q) {
        Err(saturated) => saturated,
        Ok(x) => {
            let y = rounding_divide_by_pot(logistic(x, 4), 23) - 128;
            y.clamp(-128, 127) as i8
        }
    }))
}

/// TFLite Micro's int8 `TANH` for every input value, as a table: output of scale 1/128 and
/// zero point 0.
pub fn tanh_table(scale: f32, zero_point: i32, rounding: Rounding) -> Option<[i8; 256]> {
    let input = ActivationInput::new(scale, zero_point, rounding)?;
    Some(table(|q| match input.rescale(q) {
        Err(saturated) => saturated,
        Ok(x) => rounding_divide_by_pot(tanh(x, 4), 24).clamp(-128, 127) as i8,
    }))
}

/// `f` for every int8 value, at `q + 128`.
pub fn table(mut f: impl FnMut(i8) -> i8) -> [i8; 256] {
    let mut table = [0; 256];
    for (index, slot) in table.iter_mut().enumerate() {
        *slot = f((index as i32 - 128) as i8);
    }
    table
}

/// TFLite Micro's int8 `SOFTMAX` parameters (its `Prepare`, beta and the input scale folded
/// into a multiplier, and the smallest difference from the maximum that counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftmaxParams {
    /// The input difference's multiplier (with [`SoftmaxParams::left_shift`]).
    pub multiplier: i32,
    /// Its left shift, 0 to 30.
    pub left_shift: i32,
    /// Differences from the row's maximum below this give output -128.
    pub diff_min: i32,
}

impl SoftmaxParams {
    /// Integer bits of the scaled differences.
    const SCALED_DIFF_INTEGER_BITS: i32 = 5;

    /// The parameters for an input of `scale` and softmax `beta`; `None` where TFLite's
    /// arithmetic would leave its range.
    pub fn new(scale: f32, beta: f32, rounding: Rounding) -> Option<SoftmaxParams> {
        let largest = match rounding {
            Rounding::Double => 2147483647.0,
            Rounding::Single => 1073741823.0,
        };
        let real =
            (f64::from(beta) * f64::from(scale) * f64::from(1i32 << (31 - Self::SCALED_DIFF_INTEGER_BITS)))
                .min(largest);
        if real.is_nan() || real <= 1.0 {
            return None;
        }
        let (multiplier, left_shift) = quantize_multiplier(real, rounding)?;
        let radius = libm::floor(
            f64::from((1 << Self::SCALED_DIFF_INTEGER_BITS) - 1)
                * (1i64 << (31 - Self::SCALED_DIFF_INTEGER_BITS)) as f64
                / (1i64 << left_shift) as f64,
        );
        Some(SoftmaxParams {
            multiplier,
            left_shift,
            diff_min: -(radius as i32),
        })
    }
}

/// TFLite's `GetReciprocal`: `1 / x` for `x` with `integer_bits` integer bits, as a value
/// with 0 integer bits and the number of bits it is to be shifted right by.
fn reciprocal(x: i32, integer_bits: i32) -> (i32, i32) {
    let headroom_plus_one = (x as u32).leading_zeros().min(31);
    let bits_over_unit = integer_bits - headroom_plus_one as i32;
    let shifted_minus_one = ((x as u32) << headroom_plus_one).wrapping_sub(1 << 31) as i32;
    (one_over_one_plus(shifted_minus_one), bits_over_unit)
}

/// TFLite Micro's reference int8 `SOFTMAX` of one row (output scale 1/256, zero point
/// -128), into `output` (as many as both have). The same steps for every input (a
/// difference below `diff_min`, which TFLite skips, is computed and then masked): a fixed
/// cost per output.
pub fn softmax(input: &[i8], params: &SoftmaxParams, rounding: Rounding, output: &mut [i8]) {
    const ACCUMULATION_INTEGER_BITS: u32 = 12;
    let max = input.iter().copied().max().unwrap_or(i8::MIN);
    // exp(β · s · (q - max)), and whether it counts (a difference of at least diff_min).
    let exp_of = |q: i8| -> (bool, i32) {
        let diff = i32::from(q) - i32::from(max);
        let scaled = multiply_by_quantized_multiplier(diff, params.multiplier, params.left_shift, rounding);
        let e = exp_on_negative_values(scaled, SoftmaxParams::SCALED_DIFF_INTEGER_BITS as u32);
        (diff >= params.diff_min, e)
    };
    let sum = input.iter().fold(0i32, |sum, &q| {
        let (counts, e) = exp_of(q);
        sum.wrapping_add(select(
            counts,
            rounding_divide_by_pot(e, ACCUMULATION_INTEGER_BITS),
            0,
        ))
    });
    let (scale, bits_over_unit) = reciprocal(sum, ACCUMULATION_INTEGER_BITS as i32);
    let exponent = (bits_over_unit + 31 - 8).clamp(0, 31) as u32;
    for (y, &q) in output.iter_mut().zip(input) {
        let (counts, e) = exp_of(q);
        let unsaturated = rounding_divide_by_pot(doubling_high_mul(scale, e), exponent);
        *y = select(counts, (unsaturated - 128).clamp(-128, 127), -128) as i8;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn no_input_panics() {
        // Debug builds check every shift and overflow: extreme values, every integer-bit count.
        let extremes = [i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX, 1 << 30, -(1 << 30)];
        for &a in &extremes {
            for bits in 0..=40 {
                let _ = exp_on_negative_values(a, bits);
                let _ = logistic(a, bits.min(27));
                let _ = tanh(a, bits.min(27));
                let _ = rounding_divide_by_pot(a, bits);
            }
            let _ = one_over_one_plus(a);
            let _ = reciprocal(a, 12);
            for &b in &extremes {
                let _ = doubling_high_mul(a, b);
                for shift in [-40, -31, -1, 0, 1, 30, 40] {
                    for rounding in [Rounding::Double, Rounding::Single] {
                        let _ = multiply_by_quantized_multiplier(a, b.max(0), shift, rounding);
                    }
                }
            }
        }
        for scale in [f32::MIN_POSITIVE, 1e-12, 1.0, 1e12, f32::MAX] {
            let _ = logistic_table(scale, 0, Rounding::Double);
            let _ = tanh_table(scale, -128, Rounding::Single);
            let _ = SoftmaxParams::new(scale, 1.0, Rounding::Double);
        }
        let params = SoftmaxParams::new(0.05, 1.0, Rounding::Double).unwrap();
        let mut out = [0i8; 3];
        softmax(&[], &params, Rounding::Double, &mut out);
        softmax(&[-128, 127, 0], &params, Rounding::Single, &mut out);
        let _ = quantize(f32::NAN, 0.1, 0);
        let _ = quantize(f32::INFINITY, 1e-30, 127);
    }

    #[test]
    fn rounding_divide_rounds_half_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3);
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(4, 1), 2);
        assert_eq!(rounding_divide_by_pot(-7, 2), -2);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
    }

    #[test]
    fn fixed_point_functions_follow_their_real_values() {
        // 1.0 with 0 integer bits is 2^31.
        let unit = 2147483648.0f64;
        for k in 0..200 {
            let a = -(k as f64) / 20.0; // 0 to -10
            let raw = (a * (1u64 << 26) as f64) as i32; // 5 integer bits
            let e = exp_on_negative_values(raw, 5) as f64 / unit;
            assert!(libm::fabs(e - libm::exp(a)) < 1e-6, "exp({a}) = {e}");
            let raw4 = (a / 2.0 * (1u64 << 27) as f64) as i32;
            let l = logistic(raw4, 4) as f64 / unit;
            assert!(
                libm::fabs(l - 1.0 / (1.0 + libm::exp(-a / 2.0))) < 1e-6,
                "logistic({a})"
            );
            let t = tanh(raw4, 4) as f64 / unit;
            assert!(libm::fabs(t - libm::tanh(a / 2.0)) < 1e-6, "tanh({a}) = {t}");
        }
        for k in 0..100 {
            let a = k as f64 / 100.0;
            let r = one_over_one_plus((a * unit) as i32) as f64 / unit;
            assert!(libm::fabs(r - 1.0 / (1.0 + a)) < 1e-8);
        }
    }

    #[test]
    fn quantize_multiplier_round_trips() {
        for real in [0.5, 0.001234, 3.75, 1e-9, 0.999999999] {
            let (m, s) = quantize_multiplier(real, Rounding::Double).unwrap();
            let back = f64::from(m) * libm::exp2(f64::from(s)) / 2147483648.0;
            assert!(libm::fabs(back / real - 1.0) < 1e-9, "{real}: {m} {s}");
        }
        assert_eq!(quantize_multiplier(0.0, Rounding::Double), Some((0, 0)));
        assert_eq!(quantize_multiplier(1e-12, Rounding::Double), Some((0, 0)));
        assert_eq!(quantize_multiplier(-1.0, Rounding::Double), None);
        assert_eq!(quantize_multiplier(f64::NAN, Rounding::Double), None);
        assert_eq!(quantize_multiplier(1e10, Rounding::Double), None);
        assert_eq!(quantize_multiplier(1e10, Rounding::Single), Some((i32::MAX, 30)));
    }

    #[test]
    fn softmax_sums_to_one() {
        for rounding in [Rounding::Double, Rounding::Single] {
            let params = SoftmaxParams::new(0.1, 1.0, rounding).unwrap();
            let mut out = [0i8; 4];
            softmax(&[10, -20, 5, 10], &params, rounding, &mut out);
            let z = [1.0, -2.0, 0.5, 1.0f64];
            let total: f64 = z.iter().map(|v| libm::exp(*v)).sum();
            for (&q, v) in out.iter().zip(z) {
                let p = (f64::from(q) + 128.0) / 256.0;
                assert!(libm::fabs(p - libm::exp(v) / total) <= 1.0 / 256.0, "{out:?}");
            }
        }
    }

    #[test]
    fn the_two_roundings_part_only_at_ties() {
        // 2689 · 1175453229 / 2^38 = 11.49998...: one rounding gives 11; two give 12, the
        // high product 1471.87 rounding to 1472 first, a tie (11.5) then rounding away.
        assert_eq!(
            multiply_by_quantized_multiplier(2689, 1175453229, -7, Rounding::Single),
            11
        );
        assert_eq!(
            multiply_by_quantized_multiplier(2689, 1175453229, -7, Rounding::Double),
            12
        );
        // Single rounding is within half a step of the exact product; double within one
        // (7 · 2^30 / 2^34 = 0.4375: 3.5 rounds to 4, then 0.5 to 1).
        assert_eq!(
            multiply_by_quantized_multiplier(7, 1 << 30, -3, Rounding::Double),
            1
        );
        assert_eq!(
            multiply_by_quantized_multiplier(7, 1 << 30, -3, Rounding::Single),
            0
        );
        for x in [-100_000, -3, 0, 7, 123_456] {
            for (m, s) in [(1 << 30, -3), (1_500_000_000, 2), (1_234_567_890, -12)] {
                let exact = (i64::from(x) * i64::from(m)) as f64 * libm::exp2(f64::from(s) - 31.0);
                for rounding in [Rounding::Double, Rounding::Single] {
                    let got = multiply_by_quantized_multiplier(x, m, s, rounding);
                    let bound = if rounding == Rounding::Single { 0.5 } else { 1.0 };
                    assert!(
                        libm::fabs(f64::from(got) - exact) <= bound + 1e-9,
                        "{x} {m} {s} {rounding:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn tables_follow_the_functions() {
        let sigmoid = logistic_table(0.05, 3, Rounding::Double).unwrap();
        let tanh = tanh_table(0.05, 3, Rounding::Double).unwrap();
        for q in -128i32..128 {
            let x = 0.05 * (q - 3) as f64;
            let s = (f64::from(sigmoid[(q + 128) as usize]) + 128.0) / 256.0;
            let t = f64::from(tanh[(q + 128) as usize]) / 128.0;
            assert!(libm::fabs(s - 1.0 / (1.0 + libm::exp(-x))) <= 1.0 / 256.0, "{q}");
            assert!(libm::fabs(t - libm::tanh(x)) <= 1.0 / 128.0, "{q}");
        }
    }
}

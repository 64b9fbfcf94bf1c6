//! The integer kernels of int8 inference against independent references: exact integer
//! arithmetic in i128, and f64 for what the integers stand for.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use nn_core::quant::{InputQuantizer, Requantizer, dense_requantized, dot, portable, requantize};
use rand_core::Rng;

/// `round(acc · m / 2^(33 + s))`, ties toward +∞, in i128 (the definition, written apart from
/// the kernel's high-word shifts).
fn requantize_ref(acc: i32, m: i32, s: u8) -> i64 {
    let p = i128::from(acc) * i128::from(m);
    let d = 1i128 << (33 + u32::from(s));
    (p + d / 2).div_euclid(d) as i64
}

#[test]
fn requantization_is_exactly_rounded_multiplication() {
    let mut rng = common::rng(1);
    for _ in 0..200_000 {
        let acc = rng.next_u32() as i32;
        let m = (rng.next_u32() >> 1) as i32;
        let s = (rng.next_u32() % 32) as u8;
        assert_eq!(
            i64::from(requantize(acc, m, s)),
            requantize_ref(acc, m, s),
            "{acc} {m} {s}"
        );
    }
    for (acc, m, s) in [
        (i32::MIN, i32::MAX, 0),
        (i32::MAX, i32::MAX, 0),
        (i32::MIN, 1, 31),
        (-1, 1 << 30, 0),
    ] {
        assert_eq!(i64::from(requantize(acc, m, s)), requantize_ref(acc, m, s));
    }
    // Ties go toward +infinity: 3 · 2^30 / 2^33 = 0.375 -> 0; 4 · 2^30 / 2^33 = 0.5 -> 1, -0.5 -> 0.
    assert_eq!(requantize(4, 1 << 30, 0), 1);
    assert_eq!(requantize(-4, 1 << 30, 0), 0);
    assert_eq!(requantize(3, 1 << 30, 0), 0);
}

#[test]
fn requantizers_stand_for_their_real_multipliers() {
    let mut rng = common::rng(2);
    for _ in 0..20_000 {
        // Over the range a layer meets: 2^-40 .. 0.25.
        let real = libm::exp2(-40.0 + 38.0 * f64::from(nn_core::init::uniform01(&mut rng)));
        let r = Requantizer::from_real(real).unwrap();
        assert!(
            r.multiplier >= 1 && r.shift <= nn_core::quant::MAX_SHIFT,
            "{real}: {r:?}"
        );
        let rel = (r.real() - real).abs() / real;
        if real >= libm::exp2(-34.0) {
            assert!(r.multiplier >= 1 << 30, "{real}: {r:?}");
            assert!(rel <= libm::exp2(-30.0), "{real}: {r:?} is off by {rel}");
        }
        let x = (f64::from(nn_core::init::uniform01(&mut rng)) * 2e6 - 1e6) as i32;
        let exact = f64::from(x) * r.real();
        assert!((f64::from(r.apply(x)) - exact).abs() <= 0.5, "{x} · {real}");
    }
    for out_of_range in [0.0, -1.0, 0.25, 0.3, f64::NAN, f64::INFINITY] {
        assert_eq!(Requantizer::from_real(out_of_range), None, "{out_of_range}");
    }
    // Just below 0.25 rounds to 2^31, renormalizes to shift -1: refused rather than wrong.
    assert_eq!(Requantizer::from_real(0.25 - 1e-12), None);
    assert!(Requantizer::from_real(0.2499).is_some());
}

#[test]
fn inputs_quantize_to_the_nearest_step() {
    let mut rng = common::rng(3);
    let mut ties = 0;
    for _ in 0..200_000 {
        let x = common::uniform(&mut rng, -3.0, 3.0) * [1.0, 1e-3, 30.0][(rng.next_u32() % 3) as usize];
        let scale = common::uniform(&mut rng, 0.001, 0.05);
        let zero_point = (rng.next_u32() % 256) as i32 - 128;
        let q = InputQuantizer::new(scale, zero_point).quantize(x);
        // The exact product of x and the f32 1/scale, in f64 (48 bits: exact).
        let t = f64::from(x) * f64::from(1.0 / scale);
        let exact = ((t + 0.5).floor() as i64 + i64::from(zero_point)).clamp(-128, 127);
        // 16-bit significands: within 2^-15 relative, so exact away from ties.
        if t.abs() > 400.0 || (t - t.floor() - 0.5).abs() > t.abs() * libm::exp2(-14.0) {
            assert_eq!(i64::from(q), exact, "{x} / {scale} + {zero_point}");
        } else {
            ties += 1;
            assert!((i64::from(q) - exact).abs() <= 1);
        }
    }
    assert!(ties < 4000, "{ties} near-ties");
    let q = |x: f32, scale: f32, zp: i32| InputQuantizer::new(scale, zp).quantize(x);
    assert_eq!(q(f32::NAN, 0.1, 3), 127);
    assert_eq!(q(f32::INFINITY, 0.1, 0), 127);
    assert_eq!(q(f32::NEG_INFINITY, 0.1, 0), -128);
    assert_eq!(q(1e30, 0.1, 0), 127);
    assert_eq!(q(-1e30, 0.1, 0), -128);
    assert_eq!(q(0.0, 0.1, 5), 5);
    assert_eq!(q(-0.0, 0.1, 5), 5);
    assert_eq!(q(1e-40, 0.1, 5), 5); // subnormal
    assert_eq!(q(0.25, 0.5, 0), 1); // 0.5 rounds up
    assert_eq!(q(-0.25, 0.5, 0), 0); // -0.5 rounds up too
    assert_eq!(q(-0.75, 0.5, 0), -1); // -1.5 -> -1
    assert_eq!(q(100.0, 1.0, -100), 0);
}

#[test]
fn dot_products_are_exact_on_every_length() {
    let mut rng = common::rng(4);
    for n in 0..70 {
        for _ in 0..50 {
            let row: Vec<i8> = (0..n).map(|_| rng.next_u32() as i8).collect();
            let x: Vec<i8> = (0..n).map(|_| rng.next_u32() as i8).collect();
            let bias = (rng.next_u32() >> 8) as i32 - (1 << 23);
            let exact: i64 = i64::from(bias)
                + row
                    .iter()
                    .zip(&x)
                    .map(|(&a, &b)| i64::from(a) * i64::from(b))
                    .sum::<i64>();
            assert_eq!(i64::from(dot(&row, &x, bias)), exact);
            assert_eq!(i64::from(portable::dot(&row, &x, bias)), exact);
        }
    }
    // Lengths that disagree stop at the shorter one.
    assert_eq!(dot(&[1, 2, 3], &[4, 5], 0), 14);
}

/// A random layer quantized by hand (per-channel weights, asymmetric activations, folded
/// zero point) gives, after dequantizing, the f64 layer's outputs within the quantization
/// error.
#[test]
fn the_int8_kernel_matches_the_real_layer() {
    let mut rng = common::rng(5);
    let (n_in, n_out) = (24, 8);
    let w: Vec<f32> = common::values(&mut rng, n_in * n_out, -1.0, 1.0, 0.0);
    let b: Vec<f32> = common::values(&mut rng, n_out, -0.5, 0.5, 0.0);
    let (s_in, zp_in) = (2.0f32 / 255.0, -1i32); // inputs in [-1, 1]
    let (s_out, zp_out) = (24.0f32 / 255.0, 0i32); // outputs in about [-12, 12]
    let s_w: Vec<f32> = w
        .chunks(n_in)
        .map(|row| row.iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0)
        .collect();
    let wq: Vec<i8> = w
        .iter()
        .enumerate()
        .map(|(k, v)| (v / s_w[k / n_in]).round() as i8)
        .collect();
    let bias: Vec<i32> = (0..n_out)
        .map(|o| {
            let sum_w: i32 = wq[o * n_in..(o + 1) * n_in].iter().map(|&v| i32::from(v)).sum();
            (b[o] / (s_in * s_w[o])).round() as i32 - zp_in * sum_w
        })
        .collect();
    // One shift for the layer (its largest multiplier's), a multiplier per channel.
    let reals: Vec<f64> = s_w
        .iter()
        .map(|&s| f64::from(s_in) * f64::from(s) / f64::from(s_out))
        .collect();
    let shift = Requantizer::from_real(reals.iter().fold(0.0, |m: f64, &r| m.max(r)))
        .unwrap()
        .shift;
    let multiplier: Vec<i32> = reals
        .iter()
        .map(|&r| Requantizer::with_shift(r, shift).unwrap().multiplier)
        .collect();
    for _ in 0..200 {
        let x: Vec<f32> = common::values(&mut rng, n_in, -1.0, 1.0, 0.0);
        let quantizer = InputQuantizer::new(s_in, zp_in);
        let xq: Vec<i8> = x.iter().map(|&v| quantizer.quantize(v)).collect();
        let mut y = vec![0i8; n_out];
        dense_requantized(&wq, &bias, &multiplier, shift, zp_out, -128, &xq, &mut y);
        for o in 0..n_out {
            let real: f64 = f64::from(b[o])
                + (0..n_in)
                    .map(|i| f64::from(w[o * n_in + i]) * f64::from(x[i]))
                    .sum::<f64>();
            let got = f64::from(s_out) * f64::from(i32::from(y[o]) - zp_out);
            // Input and weight rounding (half a step each, over 24 terms) plus output rounding.
            assert!((got - real).abs() < 0.2, "output {o}: int8 {got}, real {real}");
        }
        // ReLU clamps at the zero point.
        let mut relu = vec![0i8; n_out];
        dense_requantized(
            &wq,
            &bias,
            &multiplier,
            shift,
            zp_out,
            zp_out as i8,
            &xq,
            &mut relu,
        );
        for (r, y) in relu.iter().zip(&y) {
            assert_eq!(*r, (*y).max(zp_out as i8));
        }
    }
}

#[test]
fn the_integer_exponential_is_within_its_bound() {
    for u in (0..(30u32 << 16)).step_by(7) {
        let exact = libm::exp2(-f64::from(u) / 65536.0) * 16_777_216.0;
        let got = f64::from(nn_core::quant::exp2_neg_q24(u));
        // Interpolation (2^-16 relative) and the truncating shift (one unit in Q24).
        assert!(
            (got - exact).abs() <= exact * libm::exp2(-16.0) + 1.0,
            "{u}: {got} vs {exact}"
        );
    }
    assert_eq!(nn_core::quant::exp2_neg_q24(0), 1 << 24);
    assert_eq!(nn_core::quant::exp2_neg_q24(u32::MAX), 0);
}

#[test]
fn the_integer_softmax_matches_the_f64_one() {
    let mut rng = common::rng(6);
    for n in 1..20 {
        for _ in 0..200 {
            let mut z: Vec<f32> = (0..n).map(|_| common::uniform(&mut rng, -12.0, 12.0)).collect();
            let z64: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
            let reference = common::activation_ref(nn_core::Activation::Softmax, &z64);
            nn_core::quant::softmax_exp2(&mut z);
            for (got, want) in z.iter().zip(&reference) {
                assert!(
                    (f64::from(*got) - want).abs() <= 1e-4 * want + 1e-7,
                    "{got} vs {want}"
                );
            }
            let total: f32 = z.iter().sum();
            assert!((total - 1.0).abs() < 1e-5);
        }
    }
    let mut z = [f32::NAN, 1.0];
    nn_core::quant::softmax_exp2(&mut z); // no panic on outside data
}

#[test]
fn four_row_dot_products_are_four_dot_products() {
    let mut rng = common::rng(8);
    for n in 0..70 {
        let rows: Vec<Vec<i8>> = (0..4)
            .map(|_| (0..n).map(|_| rng.next_u32() as i8).collect())
            .collect();
        let x: Vec<i8> = (0..n).map(|_| rng.next_u32() as i8).collect();
        let bias = [7, -1 << 20, i32::MAX, i32::MIN];
        let four = [&rows[0][..], &rows[1][..], &rows[2][..], &rows[3][..]];
        let expected: [i32; 4] = core::array::from_fn(|r| portable::dot(four[r], &x, bias[r]));
        assert_eq!(nn_core::quant::dot4(four, &x, bias), expected, "{n} inputs");
        assert_eq!(portable::dot4(four, &x, bias), expected, "{n} inputs");
    }
}

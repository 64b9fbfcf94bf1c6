//! The integer requantization and the int8 dense kernel against f64 references.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use nn_core::quant::{Multiplier, dense_q8, rounding_divide_by_pot, saturating_rounding_doubling_high_mul};

#[test]
fn fixed_point_multipliers_round_like_real_arithmetic() {
    let mut rng = common::rng(1);
    let mut worst = 0i64;
    for _ in 0..20_000 {
        // Real multipliers over the range requantization meets: 2^-20 .. 2^4.
        let real = libm::exp2(-20.0 + 24.0 * f64::from(nn_core::init::uniform01(&mut rng)));
        let m = Multiplier::from_real(real);
        assert!(m.multiplier >= 1 << 30, "{real}: {m:?}");
        let x = (nn_core::init::uniform01(&mut rng) as f64 * 2e6 - 1e6) as i32;
        let exact = (f64::from(x) * real).round() as i64;
        worst = worst.max((i64::from(m.apply(x)) - exact).abs());
    }
    assert!(worst <= 1, "off by {worst}");
    assert_eq!(
        Multiplier::from_real(0.0),
        Multiplier {
            multiplier: 0,
            shift: 0
        }
    );
    assert_eq!(Multiplier::from_real(0.5).apply(7), 4);
    assert_eq!(Multiplier::from_real(0.5).apply(-7), -3); // ties toward +infinity, as TFLite
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
        i32::MAX
    );
    assert_eq!(rounding_divide_by_pot(5, 1), 3);
    assert_eq!(rounding_divide_by_pot(-5, 1), -3);
    // x · 2^31 saturates to i32::MAX before the Q31 multiply by 0.5: no wrap-around.
    assert_eq!(
        Multiplier {
            multiplier: 1 << 30,
            shift: 31
        }
        .apply(i32::MAX),
        1 << 30
    );
    assert_eq!(
        Multiplier {
            multiplier: 1 << 30,
            shift: 31
        }
        .apply(i32::MIN),
        -(1 << 30)
    );
}

/// A random layer quantized by hand (per-channel weights, asymmetric activations, folded
/// zero point) gives, after dequantizing, the f64 layer's outputs within the quantization
/// error.
#[test]
fn the_int8_kernel_matches_the_real_layer() {
    let mut rng = common::rng(2);
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
    let multipliers: Vec<Multiplier> = s_w
        .iter()
        .map(|&s| Multiplier::from_real(f64::from(s_in) * f64::from(s) / f64::from(s_out)))
        .collect();
    for _ in 0..200 {
        let x: Vec<f32> = common::values(&mut rng, n_in, -1.0, 1.0, 0.0);
        let xq: Vec<i8> = x
            .iter()
            .map(|v| ((v / s_in).round() as i32 + zp_in).clamp(-128, 127) as i8)
            .collect();
        let mut y = vec![0i8; n_out];
        dense_q8(&wq, &bias, &multipliers, &xq, zp_out, -128, 127, &mut y);
        for o in 0..n_out {
            let real: f64 = f64::from(b[o])
                + (0..n_in)
                    .map(|i| f64::from(w[o * n_in + i]) * f64::from(x[i]))
                    .sum::<f64>();
            let got = f64::from(s_out) * f64::from(i32::from(y[o]) - zp_out);
            // Input and weight rounding (half a step each, over 24 terms) plus output rounding.
            assert!((got - real).abs() < 0.2, "output {o}: int8 {got}, real {real}");
        }
    }
}

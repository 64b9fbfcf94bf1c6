//! The error of the `fast-math` approximations (micromath) against libm, as a table.
//!
//! Run `cargo test -p nn-core --test fast_math -- --nocapture` to see the figures; the
//! asserted budgets are the measured maxima rounded up. The activations are measured as
//! nn-core computes them (sigmoid and tanh through exp, softmax over 10 logits).

#![allow(clippy::unwrap_used)] // tests may unwrap

use nn_core::math;

/// Max absolute and relative error of `approx` against `exact` on `n` points of [lo, hi].
fn error_of(approx: impl Fn(f32) -> f32, exact: impl Fn(f32) -> f32, lo: f32, hi: f32) -> (f32, f32) {
    let n = 100_000;
    let (mut abs, mut rel) = (0.0f32, 0.0f32);
    for i in 0..=n {
        let x = lo + (hi - lo) * i as f32 / n as f32;
        let (a, e) = (approx(x), exact(x));
        let d = (a - e).abs();
        abs = abs.max(d);
        if e.abs() > 1e-30 {
            rel = rel.max(d / e.abs());
        }
    }
    (abs, rel)
}

fn fast_exp(x: f32) -> f32 {
    micromath::F32(x).exp().0
}

fn fast_sigmoid(z: f32) -> f32 {
    if z >= 0.0 {
        1.0 / (1.0 + fast_exp(-z))
    } else {
        let e = fast_exp(z);
        e / (1.0 + e)
    }
}

fn fast_tanh(x: f32) -> f32 {
    let e = fast_exp(-2.0 * x.abs());
    ((1.0 - e) / (1.0 + e)).copysign(x)
}

fn exact_sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-z))
}

#[test]
fn fast_math_error_table() {
    let rows = [
        ("exp", error_of(fast_exp, libm::expf, -20.0, 20.0), 3e-3),
        (
            "sigmoid",
            error_of(fast_sigmoid, exact_sigmoid, -20.0, 20.0),
            3e-3,
        ),
        ("tanh", error_of(fast_tanh, libm::tanhf, -10.0, 10.0), 4e-3),
    ];
    println!(
        "{:<8} {:>12} {:>12} {:>10}",
        "function", "max abs err", "max rel err", "budget"
    );
    for (name, (abs, rel), budget) in rows {
        println!("{name:<8} {abs:>12.3e} {rel:>12.3e} {budget:>10.0e}");
    }
    // micromath's ln is not used (see nn-core/src/math.rs); shown for the record.
    let (abs, rel) = error_of(|x| micromath::F32(x).ln().0, libm::logf, 1e-3, 1e3);
    println!("{:<8} {abs:>12.3e} {rel:>12.3e} {:>10}", "(ln)", "unused");
    for (name, (_, rel), budget) in rows {
        assert!(rel <= budget, "{name}: relative error {rel} over budget {budget}");
    }
}

#[test]
fn the_feature_selects_the_implementation() {
    for x in [-3.5f32, -0.1, 0.0, 0.7, 4.2] {
        #[cfg(feature = "fast-math")]
        assert_eq!(math::exp(x).to_bits(), fast_exp(x).to_bits());
        #[cfg(not(feature = "fast-math"))]
        assert_eq!(math::exp(x).to_bits(), libm::expf(x).to_bits());
        #[cfg(feature = "fast-math")]
        assert_eq!(math::tanh(x).to_bits(), fast_tanh(x).to_bits());
        #[cfg(not(feature = "fast-math"))]
        assert_eq!(math::tanh(x).to_bits(), libm::tanhf(x).to_bits());
        assert_eq!(
            math::ln(x.abs() + 1.0).to_bits(),
            libm::logf(x.abs() + 1.0).to_bits()
        );
    }
}

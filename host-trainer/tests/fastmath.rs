//! The training engine's vectorised tanh, sigmoid and exp against libm, in ulp.

use host_trainer::fastmath;

fn ulps(a: f32, b: f32) -> u32 {
    if a == b {
        return 0;
    }
    if a.signum() != b.signum() {
        return u32::MAX;
    }
    (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
}

fn worst(f: impl Fn(f32) -> f32, reference: impl Fn(f32) -> f32, lo: f32, hi: f32) -> (u32, f32) {
    let n = 200_000;
    (0..=n)
        .map(|i| lo + (hi - lo) * i as f32 / n as f32)
        .map(|x| (ulps(f(x), reference(x)), x))
        .max_by_key(|p| p.0)
        .unwrap_or((0, 0.0))
}

#[test]
fn fast_activations_stay_within_a_few_ulp_of_libm() {
    let sigmoid = |x: f32| 1.0 / (1.0 + libm::expf(-x));
    let table = [
        ("exp", worst(fastmath::exp, libm::expf, -80.0, 80.0), 4),
        ("tanh", worst(fastmath::tanh, libm::tanhf, -9.0, 9.0), 4),
        ("sigmoid", worst(fastmath::sigmoid, sigmoid, -20.0, 20.0), 4),
    ];
    for (name, (ulp, at), budget) in table {
        println!("{name:<8} max {ulp} ulp (at {at}), budget {budget}");
        assert!(ulp <= budget, "{name}: {ulp} ulp at {at}");
    }
    assert_eq!(fastmath::tanh(100.0), 1.0);
    assert_eq!(fastmath::tanh(-100.0), -1.0);
    assert_eq!(fastmath::tanh(0.0), 0.0);
}

//! Every activation, loss and the full backward pass against finite differences computed
//! in f64 on independent reference formulas.
//!
//! Tolerance: |analytic - numeric| <= 1e-5 + 1e-4·|numeric|. The analytic side is f32
//! (relative rounding about 1e-7 per operation); the numeric side is a central difference
//! with h = 1e-6 in f64 (truncation error about h² · f''' ≈ 1e-12, rounding about 1e-10), so the budget is f32's.

#![allow(clippy::unwrap_used)] // tests may unwrap
#![allow(clippy::needless_range_loop)] // index j names the coordinate being differenced

mod common;

use common::*;
use nn_core::activation::{activate, activation_backward, softmax_with_sums};
use nn_core::loss::loss_and_delta_given;
use nn_core::{
    Activation, Dense, GradientOf, Identity, Init, LeakyRelu, Loss, Relu, Sigmoid, Softmax, Tanh, Trainable,
    Vector, loss_and_delta, network,
};

const H: f64 = 1e-6;
const ABS: f64 = 1e-5;
const REL: f64 = 1e-4;

#[test]
fn activation_values_match_reference() {
    let mut rng = rng(1);
    for activation in Activation::ALL {
        for _ in 0..50 {
            let z = values(&mut rng, 6, -8.0, 8.0, 0.0);
            let mut y = z.clone();
            activate(activation, &mut y);
            let reference = activation_ref(activation, &to_f64(&z));
            for (a, b) in y.iter().zip(&reference) {
                assert_close(*a as f64, *b, 1e-6, 1e-6, &format!("{activation} value"));
            }
        }
    }
}

#[test]
fn softmax_is_stable_for_huge_logits() {
    let mut y = [1000.0, 999.0, -1000.0];
    activate(Activation::Softmax, &mut y);
    assert!(y.iter().all(|v| v.is_finite()));
    assert_close(y[0] as f64, 1.0 / (1.0 + (-1.0f64).exp()), 1e-6, 0.0, "softmax");
}

#[test]
fn activation_gradients_match_finite_differences() {
    let mut rng = rng(2);
    for activation in Activation::ALL {
        for _ in 0..50 {
            // Keep z away from ReLU's kink, where the derivative is not defined.
            let z = values(&mut rng, 5, -4.0, 4.0, 0.05);
            let c = values(&mut rng, 5, -1.0, 1.0, 0.0);
            let mut y = z.clone();
            activate(activation, &mut y);
            let mut grad = c.clone();
            activation_backward(activation, &y, &mut grad);
            let c64 = to_f64(&c);
            let scalar = |z: &[f64]| {
                activation_ref(activation, z)
                    .iter()
                    .zip(&c64)
                    .map(|(y, c)| y * c)
                    .sum::<f64>()
            };
            for j in 0..z.len() {
                let numeric = finite_difference(scalar, &to_f64(&z), j, H);
                assert_close(
                    grad[j] as f64,
                    numeric,
                    ABS,
                    REL,
                    &format!("d{activation}/dz[{j}]"),
                );
            }
        }
    }
}

/// Targets that fit a loss: one-hot for cross-entropy, in (0, 1) for binary cross-entropy.
fn targets(rng: &mut rand_pcg::Pcg32, loss: Loss, n: usize) -> Vec<f32> {
    match loss {
        Loss::CrossEntropy => {
            let hot = (nn_core::init::uniform01(rng) * n as f32) as usize % n;
            (0..n).map(|i| if i == hot { 1.0 } else { 0.0 }).collect()
        }
        Loss::BinaryCrossEntropy => values(rng, n, 0.0, 1.0, 0.0),
        _ => values(rng, n, -2.0, 2.0, 0.0),
    }
}

#[test]
fn loss_values_and_gradients_match_finite_differences() {
    let mut rng = rng(3);
    for loss in Loss::ALL {
        for _ in 0..50 {
            let y = values(&mut rng, 4, 0.05, 0.95, 0.0);
            let t = targets(&mut rng, loss, 4);
            let (y64, t64) = (to_f64(&y), to_f64(&t));
            if loss == Loss::MeanAbsoluteError && y64.iter().zip(&t64).any(|(y, t)| (y - t).abs() < 1e-3) {
                continue; // |y - t| has a kink at y = t
            }
            assert_close(
                loss.value(&y, &t) as f64,
                loss_ref(loss, &y64, &t64),
                1e-5,
                1e-5,
                &format!("{loss} value"),
            );
            let mut grad = vec![0.0; 4];
            loss.gradient(&y, &t, &mut grad);
            for j in 0..4 {
                let numeric = finite_difference(|y| loss_ref(loss, y, &t64), &y64, j, H);
                assert_close(grad[j] as f64, numeric, ABS, REL, &format!("d{loss}/dy[{j}]"));
            }
        }
    }
}

#[test]
fn output_deltas_fused_and_chained_match_finite_differences() {
    let mut rng = rng(4);
    for loss in Loss::ALL {
        for activation in Activation::ALL {
            let probabilities = matches!(activation, Activation::Sigmoid | Activation::Softmax);
            if matches!(loss, Loss::CrossEntropy | Loss::BinaryCrossEntropy) && !probabilities {
                continue; // these losses take probabilities
            }
            for _ in 0..30 {
                let z = values(&mut rng, 4, -3.0, 3.0, 0.05);
                let t = targets(&mut rng, loss, 4);
                let mut y = z.clone();
                activate(activation, &mut y);
                if loss == Loss::MeanAbsoluteError && y.iter().zip(&t).any(|(y, t)| (y - t).abs() < 1e-3) {
                    continue;
                }
                let mut delta = vec![0.0; 4];
                let value = loss_and_delta(loss, activation, &z, &y, &t, &mut delta);
                let t64 = to_f64(&t);
                let total = |z: &[f64]| loss_ref(loss, &activation_ref(activation, z), &t64);
                let what = format!("{loss} after {activation}");
                assert_close(
                    value as f64,
                    total(&to_f64(&z)),
                    1e-5,
                    1e-5,
                    &format!("{what} value"),
                );
                for j in 0..4 {
                    let numeric = finite_difference(total, &to_f64(&z), j, H);
                    assert_close(delta[j] as f64, numeric, ABS, REL, &format!("{what}: dL/dz[{j}]"));
                }
            }
        }
    }
}

#[test]
fn fused_softmax_cross_entropy_is_finite_when_saturated() {
    let z = [200.0, -200.0, 0.0];
    let mut y = z;
    activate(Activation::Softmax, &mut y);
    let mut delta = [0.0; 3];
    let value = loss_and_delta(
        Loss::CrossEntropy,
        Activation::Softmax,
        &z,
        &y,
        &[0.0, 1.0, 0.0],
        &mut delta,
    );
    assert_close(value as f64, 400.0, 1e-3, 0.0, "loss of a confident wrong answer");
    assert_eq!(delta, [1.0, -1.0, 0.0]);
}

/// The trainer's path (the forward's softmax keeps its sums, the loss reuses them) against
/// `loss_and_delta`, which computes them again: the same bits, and sums that are what they
/// say (the largest logit; Σ exp(z - max) to f32's precision, from f64).
#[test]
fn cross_entropy_from_the_forward_sums_is_loss_and_delta_bit_for_bit() {
    let mut rng = rng(7);
    for n in [1, 2, 3, 10, 17] {
        for spread in [1.0, 30.0, 300.0] {
            let z = values(&mut rng, n, -spread, spread, 0.0);
            let t = targets(&mut rng, Loss::CrossEntropy, n);
            let mut y = z.clone();
            let sums = softmax_with_sums(&mut y);
            let mut reference_y = z.clone();
            activate(Activation::Softmax, &mut reference_y);
            assert_eq!(
                bits(&y),
                bits(&reference_y),
                "softmax_with_sums is activate's softmax"
            );
            let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            assert_eq!(sums.max.to_bits(), max.to_bits());
            let sum: f64 = z.iter().map(|&v| (f64::from(v) - f64::from(max)).exp()).sum();
            assert_close(f64::from(sums.sum), sum, 0.0, 1e-6, "Σ exp(z - max)");
            let (mut fused, mut reused) = (vec![0.0; n], vec![0.0; n]);
            let a = loss_and_delta(Loss::CrossEntropy, Activation::Softmax, &z, &y, &t, &mut fused);
            let softmax = Some(sums);
            let b = loss_and_delta_given(
                Loss::CrossEntropy,
                Activation::Softmax,
                softmax,
                &z,
                &y,
                &t,
                &mut reused,
            );
            assert_eq!(a.to_bits(), b.to_bits(), "loss of {z:?}");
            assert_eq!(bits(&fused), bits(&reused), "delta of {z:?}");
        }
    }
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Checks `accumulate_gradients` of `net` on one sample against finite differences of an f64
/// forward pass over the same parameters, and dL/dx of `backward` likewise.
fn check_network_gradients<N: Trainable>(net: &N, x: &N::Input, t: &N::Output, loss: Loss) {
    let mut grads = N::zeroed();
    let mut cache = N::new_cache();
    let value = net.accumulate_gradients(x, t, loss, &mut cache, &mut grads);
    let params = params_of(net);
    let (x64, t64) = (to_f64(x.as_ref()), to_f64(t.as_ref()));
    let loss_at = |p: &[f64], x: &[f64]| loss_ref(loss, &forward_ref(net, p, x), &t64);
    assert_close(value as f64, loss_at(&params, &x64), 1e-5, 1e-4, "network loss");
    let analytic = params_of(&grads);
    for j in 0..params.len() {
        let numeric = finite_difference(|p| loss_at(p, &x64), &params, j, H);
        assert_close(analytic[j], numeric, ABS, REL, &format!("{loss}: dL/dparam[{j}]"));
    }
    // dL/dx through the un-fused path (gradient with respect to the output).
    let mut grad_y = N::Output::zeroed();
    loss.gradient(N::cached_output(&cache).as_ref(), t.as_ref(), grad_y.as_mut());
    let grad_x = net.backward(x, &cache, grad_y, GradientOf::Output, &mut N::zeroed());
    for j in 0..x64.len() {
        let numeric = finite_difference(|x| loss_at(&params, x), &x64, j, H);
        assert_close(
            grad_x.as_ref()[j] as f64,
            numeric,
            ABS,
            REL,
            &format!("{loss}: dL/dx[{j}]"),
        );
    }
}

#[test]
fn network_backprop_matches_finite_differences() {
    let mut rng = rng(5);
    type Classifier = network![Dense<3, 5, Tanh>, Dense<5, 4, LeakyRelu>, Dense<4, 3, Softmax>];
    type Binary = network![Dense<3, 4, Sigmoid>, Dense<4, 2, Sigmoid>];
    type Regressor = network![Dense<2, 6, Tanh>, Dense<6, 6, Relu>, Dense<6, 6, Tanh>, Dense<6, 1, Identity>];
    for _ in 0..5 {
        let net = Classifier::init(&mut rng, Init::GlorotUniform);
        check_network_gradients(&net, &[0.3, -0.7, 1.1], &[0.0, 1.0, 0.0], Loss::CrossEntropy);
        let net = Binary::init(&mut rng, Init::GlorotNormal);
        check_network_gradients(&net, &[0.9, -0.2, 0.4], &[1.0, 0.0], Loss::BinaryCrossEntropy);
        let net = Regressor::init(&mut rng, Init::HeUniform);
        check_network_gradients(&net, &[0.5, -0.25], &[0.8], Loss::MeanSquaredError);
    }
}

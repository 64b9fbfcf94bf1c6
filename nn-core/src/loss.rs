//! Loss functions: values, gradients, and the fused output-layer deltas.

use core::fmt;

use crate::activation::{Activation, SoftmaxSums, activation_backward, softmax_with_sums};
use crate::math;

/// Probabilities are clamped to `[PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON]` before a
/// logarithm or a division (Keras' epsilon), so a saturated output gives a large, finite loss.
pub const PROBABILITY_EPSILON: f32 = 1e-7;

/// A loss comparing a network's outputs y with targets t.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Loss {
    /// Mean over outputs of (y - t)².
    MeanSquaredError,
    /// Mean over outputs of |y - t|.
    MeanAbsoluteError,
    /// Mean over outputs of -(t ln y + (1 - t) ln(1 - y)); y are probabilities.
    BinaryCrossEntropy,
    /// -Σ t ln y over the classes; y is a probability distribution (softmax output).
    CrossEntropy,
}

impl Loss {
    /// Every loss.
    pub const ALL: [Loss; 4] = [
        Loss::MeanSquaredError,
        Loss::MeanAbsoluteError,
        Loss::BinaryCrossEntropy,
        Loss::CrossEntropy,
    ];

    /// The command-line name: `mse`, `mae`, `binary-cross-entropy`, `cross-entropy`.
    pub const fn name(self) -> &'static str {
        match self {
            Loss::MeanSquaredError => "mse",
            Loss::MeanAbsoluteError => "mae",
            Loss::BinaryCrossEntropy => "binary-cross-entropy",
            Loss::CrossEntropy => "cross-entropy",
        }
    }

    /// The loss called `name` (see [`Loss::name`]).
    pub fn from_name(name: &str) -> Option<Loss> {
        Loss::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The loss of outputs `y` against targets `t` (computed from the outputs; see
    /// [`loss_and_delta`] for the fused, logit-based form used in training).
    #[inline]
    pub fn value(self, y: &[f32], t: &[f32]) -> f32 {
        let n = y.len().max(1) as f32;
        let pairs = y.iter().zip(t);
        match self {
            Loss::MeanSquaredError => pairs.map(|(y, t)| (y - t) * (y - t)).sum::<f32>() / n,
            Loss::MeanAbsoluteError => pairs.map(|(y, t)| math::abs(y - t)).sum::<f32>() / n,
            Loss::BinaryCrossEntropy => {
                pairs
                    .map(|(&y, t)| {
                        let y = clamp_probability(y);
                        -(t * math::ln(y) + (1.0 - t) * math::ln(1.0 - y))
                    })
                    .sum::<f32>()
                    / n
            }
            Loss::CrossEntropy => pairs.map(|(&y, t)| -t * math::ln(clamp_probability(y))).sum(),
        }
    }

    /// Writes dL/dy for outputs `y` and targets `t` into `grad`.
    #[inline]
    pub fn gradient(self, y: &[f32], t: &[f32], grad: &mut [f32]) {
        let n = y.len().max(1) as f32;
        let terms = grad.iter_mut().zip(y).zip(t);
        match self {
            Loss::MeanSquaredError => terms.for_each(|((g, y), t)| *g = 2.0 * (y - t) / n),
            Loss::MeanAbsoluteError => terms.for_each(|((g, y), t)| *g = sign(y - t) / n),
            Loss::BinaryCrossEntropy => terms.for_each(|((g, &y), t)| {
                let y = clamp_probability(y);
                *g = (y - t) / (y * (1.0 - y)) / n;
            }),
            Loss::CrossEntropy => terms.for_each(|((g, &y), t)| *g = -t / clamp_probability(y)),
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn clamp_probability(y: f32) -> f32 {
    y.clamp(PROBABILITY_EPSILON, 1.0 - PROBABILITY_EPSILON)
}

fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Cross-entropy after a softmax and its fused delta `y·Σt - t`, from the sums the softmax
/// computed ([`softmax_with_sums`]): `ln Σ exp z = max + ln sum`, so the loss needs no
/// exponential of its own.
fn softmax_cross_entropy(sums: SoftmaxSums, z: &[f32], y: &[f32], t: &[f32], delta: &mut [f32]) -> f32 {
    let log_sum_exp = sums.max + math::ln(sums.sum);
    let t_sum: f32 = t.iter().sum();
    for ((d, y), t) in delta.iter_mut().zip(y).zip(t) {
        *d = y * t_sum - t;
    }
    z.iter().zip(t).map(|(z, t)| t * (log_sum_exp - z)).sum()
}

/// The loss of an output layer and its gradient with respect to the layer's pre-activation.
///
/// `z` are the output layer's pre-activations, `y = activation(z)` its outputs, `t` the
/// targets; dL/dz is written into `delta` and the loss is returned. Two pairs are fused
/// for stability: softmax with cross-entropy (loss `Σ t (logsumexp z - z)`, delta `y Σt - t`)
/// and sigmoid with binary cross-entropy (loss from the logits, delta `(y - t) / n`);
/// neither divides by a probability. Every other pair chains [`Loss::gradient`] with
/// [`activation_backward`].
#[inline]
pub fn loss_and_delta(
    loss: Loss,
    activation: Activation,
    z: &[f32],
    y: &[f32],
    t: &[f32],
    delta: &mut [f32],
) -> f32 {
    loss_and_delta_given(loss, activation, None, z, y, t, delta)
}

/// [`loss_and_delta`], given the sums of the output's softmax if the forward pass kept them
/// ([`softmax_with_sums`]): softmax with cross-entropy then computes no exponential again.
/// The same bits either way.
#[inline]
pub fn loss_and_delta_given(
    loss: Loss,
    activation: Activation,
    softmax: Option<SoftmaxSums>,
    z: &[f32],
    y: &[f32],
    t: &[f32],
    delta: &mut [f32],
) -> f32 {
    match (loss, activation) {
        (Loss::CrossEntropy, Activation::Softmax) => {
            let sums = softmax.unwrap_or_else(|| {
                // The softmax's sums, computed again from z (delta is the scratch space).
                delta.iter_mut().zip(z).for_each(|(d, &z)| *d = z);
                softmax_with_sums(delta)
            });
            softmax_cross_entropy(sums, z, y, t, delta)
        }
        (Loss::BinaryCrossEntropy, Activation::Sigmoid) => {
            let n = z.len().max(1) as f32;
            for ((d, y), t) in delta.iter_mut().zip(y).zip(t) {
                *d = (y - t) / n;
            }
            let total: f32 = z
                .iter()
                .zip(t)
                .map(|(&z, t)| {
                    (if z > 0.0 { z } else { 0.0 }) - z * t + math::ln_1p(math::exp(-math::abs(z)))
                })
                .sum();
            total / n
        }
        _ => {
            loss.gradient(y, t, delta);
            activation_backward(activation, y, delta);
            loss.value(y, t)
        }
    }
}

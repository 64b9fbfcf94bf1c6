//! Optimizers: SGD, SGD with momentum, Adam, RMSprop, and Keras' decoupled weight decay
//! (AdamW is Adam with it), in Keras' formulas and defaults.

use std::fmt;

/// An optimizer and its hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// p -= lr · g.
    Sgd {
        /// Learning rate.
        lr: f32,
    },
    /// v = momentum · v - lr · g; p += v (Keras' SGD with momentum).
    Momentum {
        /// Learning rate.
        lr: f32,
        /// Momentum (Keras default 0.9 here).
        momentum: f32,
    },
    /// Adam: m, v moving averages; p -= lr·√(1-β₂ᵗ)/(1-β₁ᵗ) · m / (√v + ε) (Keras' form).
    Adam {
        /// Learning rate (default 1e-3).
        lr: f32,
        /// β₁ (default 0.9).
        beta1: f32,
        /// β₂ (default 0.999).
        beta2: f32,
        /// ε (default 1e-7, Keras').
        epsilon: f32,
    },
    /// RMSprop: v = ρ·v + (1-ρ)·g²; p -= lr · g / √(v + ε) (Keras' form: ε inside the root).
    Rmsprop {
        /// Learning rate (default 1e-3).
        lr: f32,
        /// ρ, the discount of old squared gradients (default 0.9).
        rho: f32,
        /// ε (default 1e-7).
        epsilon: f32,
    },
}

impl Optimizer {
    /// Adam with Keras' defaults and learning rate `lr`.
    pub fn adam(lr: f32) -> Optimizer {
        Optimizer::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
        }
    }

    /// The optimizer called `name` (`sgd`, `momentum`, `adam`, `rmsprop`; `adamw` is `adam`
    /// here, its weight decay being set apart, see [`OptimizerState::new`]) with learning
    /// rate `lr` (its default when `None`: 0.01 for SGD and momentum, 0.001 for the others,
    /// as in Keras).
    pub fn from_name(name: &str, lr: Option<f32>) -> Option<Optimizer> {
        match name {
            "sgd" => Some(Optimizer::Sgd {
                lr: lr.unwrap_or(0.01),
            }),
            "momentum" => Some(Optimizer::Momentum {
                lr: lr.unwrap_or(0.01),
                momentum: 0.9,
            }),
            "adam" | "adamw" => Some(Optimizer::adam(lr.unwrap_or(1e-3))),
            "rmsprop" => Some(Optimizer::Rmsprop {
                lr: lr.unwrap_or(1e-3),
                rho: 0.9,
                epsilon: 1e-7,
            }),
            _ => None,
        }
    }

    /// The learning rate it was given (a schedule scales it step by step).
    pub fn lr(&self) -> f32 {
        match *self {
            Optimizer::Sgd { lr }
            | Optimizer::Momentum { lr, .. }
            | Optimizer::Adam { lr, .. }
            | Optimizer::Rmsprop { lr, .. } => lr,
        }
    }
}

/// Keras' default weight decay of AdamW.
pub const ADAMW_WEIGHT_DECAY: f32 = 0.004;

impl fmt::Display for Optimizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Optimizer::Sgd { lr } => write!(f, "sgd (lr {lr})"),
            Optimizer::Momentum { lr, momentum } => write!(f, "momentum (lr {lr}, momentum {momentum})"),
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                epsilon,
            } => {
                write!(f, "adam (lr {lr}, betas {beta1}/{beta2}, eps {epsilon})")
            }
            Optimizer::Rmsprop { lr, rho, epsilon } => {
                write!(f, "rmsprop (lr {lr}, rho {rho}, eps {epsilon})")
            }
        }
    }
}

/// An optimizer with its state for one parameter vector.
#[derive(Clone, Debug)]
pub struct OptimizerState {
    optimizer: Optimizer,
    weight_decay: f32,
    first: Vec<f32>,
    second: Vec<f32>,
    beta1_power: f32,
    beta2_power: f32,
}

impl OptimizerState {
    /// Fresh state for `params` parameters, with Keras' decoupled weight decay `weight_decay`
    /// (0 for none): before each update, every parameter (biases too, as in Keras) loses
    /// `p · weight_decay · lr`. Adam with it is AdamW.
    pub fn new(optimizer: Optimizer, weight_decay: f32, params: usize) -> OptimizerState {
        let first = if matches!(optimizer, Optimizer::Sgd { .. }) {
            0
        } else {
            params
        };
        let second = if matches!(optimizer, Optimizer::Adam { .. }) {
            params
        } else {
            0
        };
        OptimizerState {
            optimizer,
            weight_decay,
            first: vec![0.0; first],
            second: vec![0.0; second],
            beta1_power: 1.0,
            beta2_power: 1.0,
        }
    }

    /// One step on `params` with the gradient of the mean loss `grads`, at learning rate
    /// `lr` (the optimizer's own, or a schedule's).
    pub fn step(&mut self, params: &mut [f32], grads: &[f32], lr: f32) {
        if self.weight_decay != 0.0 {
            let decay = self.weight_decay;
            params.iter_mut().for_each(|p| *p -= *p * decay * lr);
        }
        match self.optimizer {
            Optimizer::Sgd { .. } => {
                for (p, g) in params.iter_mut().zip(grads) {
                    *p -= lr * g;
                }
            }
            Optimizer::Momentum { momentum, .. } => {
                for ((p, g), v) in params.iter_mut().zip(grads).zip(&mut self.first) {
                    *v = momentum * *v - lr * g;
                    *p += *v;
                }
            }
            Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
                ..
            } => {
                self.beta1_power *= beta1;
                self.beta2_power *= beta2;
                let alpha = lr * libm::sqrtf(1.0 - self.beta2_power) / (1.0 - self.beta1_power);
                let moments = self.first.iter_mut().zip(self.second.iter_mut());
                for ((p, &g), (m, v)) in params.iter_mut().zip(grads).zip(moments) {
                    *m = beta1 * *m + (1.0 - beta1) * g;
                    *v = beta2 * *v + (1.0 - beta2) * g * g;
                    // f32::sqrt is correctly rounded, as libm::sqrtf is: same bits, but vectorised.
                    *p -= alpha * *m / (v.sqrt() + epsilon);
                }
            }
            Optimizer::Rmsprop { rho, epsilon, .. } => {
                for ((p, &g), v) in params.iter_mut().zip(grads).zip(&mut self.first) {
                    *v = rho * *v + (1.0 - rho) * g * g;
                    *p -= lr * g / (*v + epsilon).sqrt();
                }
            }
        }
    }
}

//! Optimizers: SGD, SGD with momentum, Adam (Keras' formulas and defaults).

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

    /// The optimizer called `name` (`sgd`, `momentum`, `adam`) with learning rate `lr`
    /// (its default when `None`: 0.01 for SGD and momentum, 0.001 for Adam, as in Keras).
    pub fn from_name(name: &str, lr: Option<f32>) -> Option<Optimizer> {
        match name {
            "sgd" => Some(Optimizer::Sgd {
                lr: lr.unwrap_or(0.01),
            }),
            "momentum" => Some(Optimizer::Momentum {
                lr: lr.unwrap_or(0.01),
                momentum: 0.9,
            }),
            "adam" => Some(Optimizer::adam(lr.unwrap_or(1e-3))),
            _ => None,
        }
    }
}

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
        }
    }
}

/// An optimizer with its state for one parameter vector.
#[derive(Clone, Debug)]
pub struct OptimizerState {
    optimizer: Optimizer,
    first: Vec<f32>,
    second: Vec<f32>,
    beta1_power: f32,
    beta2_power: f32,
}

impl OptimizerState {
    /// Fresh state for `params` parameters.
    pub fn new(optimizer: Optimizer, params: usize) -> OptimizerState {
        let second = if matches!(optimizer, Optimizer::Adam { .. }) {
            params
        } else {
            0
        };
        OptimizerState {
            optimizer,
            first: vec![0.0; params],
            second: vec![0.0; second],
            beta1_power: 1.0,
            beta2_power: 1.0,
        }
    }

    /// One step on `params` with gradient `grads · scale` (scale turns a summed gradient
    /// into a mean).
    pub fn step(&mut self, params: &mut [f32], grads: &[f32], scale: f32) {
        match self.optimizer {
            Optimizer::Sgd { lr } => {
                for (p, g) in params.iter_mut().zip(grads) {
                    *p -= lr * (g * scale);
                }
            }
            Optimizer::Momentum { lr, momentum } => {
                for ((p, g), v) in params.iter_mut().zip(grads).zip(&mut self.first) {
                    *v = momentum * *v - lr * (g * scale);
                    *p += *v;
                }
            }
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                epsilon,
            } => {
                self.beta1_power *= beta1;
                self.beta2_power *= beta2;
                let alpha = lr * libm::sqrtf(1.0 - self.beta2_power) / (1.0 - self.beta1_power);
                let moments = self.first.iter_mut().zip(self.second.iter_mut());
                for ((p, g), (m, v)) in params.iter_mut().zip(grads).zip(moments) {
                    let g = g * scale;
                    *m = beta1 * *m + (1.0 - beta1) * g;
                    *v = beta2 * *v + (1.0 - beta2) * g * g;
                    // f32::sqrt is correctly rounded, as libm::sqrtf is: same bits, but vectorised.
                    *p -= alpha * *m / (v.sqrt() + epsilon);
                }
            }
        }
    }
}

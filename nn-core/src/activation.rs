//! Activation functions: one slice kernel per direction, and type-level markers.
//!
//! The run-time [`Activation`] value is what the weight file stores and what the
//! run-time-shaped trainer uses; the marker types ([`Relu`], [`Softmax`], ...) name an
//! activation in a layer's type, `Dense<16, 8, Relu>`. Both call the same kernels.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::math;

/// Slope of [`Activation::LeakyRelu`] for negative inputs (PyTorch's default).
pub const LEAKY_RELU_SLOPE: f32 = 0.01;

/// An activation function, applied element-wise after a dense layer (softmax over the layer).
///
/// The discriminants are part of the weight file format: never reorder them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Activation {
    /// f(z) = z ("linear" in Keras).
    Identity,
    /// f(z) = max(z, 0).
    Relu,
    /// f(z) = z for z > 0, [`LEAKY_RELU_SLOPE`] · z otherwise.
    LeakyRelu,
    /// f(z) = 1 / (1 + e^-z).
    Sigmoid,
    /// f(z) = tanh z.
    Tanh,
    /// f(z)_i = e^{z_i} / Σ_j e^{z_j}, computed after subtracting max(z) so it never overflows.
    Softmax,
}

impl Activation {
    /// Every activation, in format order.
    pub const ALL: [Activation; 6] = [
        Activation::Identity,
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softmax,
    ];

    /// The short name used in messages and on the command line (`linear`, `relu`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Activation::Identity => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
        }
    }

    /// The name of its marker type in nn-core (`Identity`, `Relu`, ...), for generated code.
    pub const fn type_name(self) -> &'static str {
        match self {
            Activation::Identity => "Identity",
            Activation::Relu => "Relu",
            Activation::LeakyRelu => "LeakyRelu",
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::Softmax => "Softmax",
        }
    }

    /// The activation called `name` (as printed by [`Activation::name`]; `identity` is
    /// accepted for `linear`).
    pub fn from_name(name: &str) -> Option<Activation> {
        if name == "identity" {
            return Some(Activation::Identity);
        }
        Activation::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Applies `activation` to `values` in place: pre-activations z in, outputs y out.
#[inline(always)]
pub fn activate(activation: Activation, values: &mut [f32]) {
    /// One loop per activation, with the activation known inside it (a run-time one would
    /// be matched again for every value).
    #[inline(always)]
    fn each(values: &mut [f32], activation: Activation) {
        values.iter_mut().for_each(|v| *v = activate_one(activation, *v));
    }
    match activation {
        Activation::Softmax => softmax(values),
        Activation::Identity => {}
        Activation::Relu => each(values, Activation::Relu),
        Activation::LeakyRelu => each(values, Activation::LeakyRelu),
        Activation::Sigmoid => each(values, Activation::Sigmoid),
        Activation::Tanh => each(values, Activation::Tanh),
    }
}

/// One output of an element-wise activation (softmax, which is not element-wise, returns
/// `z` unchanged: apply [`activate`] to the whole layer for it).
#[inline(always)]
pub fn activate_one(activation: Activation, z: f32) -> f32 {
    match activation {
        Activation::Identity | Activation::Softmax => z,
        Activation::Relu => {
            if z > 0.0 {
                z
            } else {
                0.0
            }
        }
        Activation::LeakyRelu => {
            if z > 0.0 {
                z
            } else {
                LEAKY_RELU_SLOPE * z
            }
        }
        Activation::Sigmoid => sigmoid(z),
        Activation::Tanh => math::tanh(z),
    }
}

/// The logistic function, written so that neither branch overflows.
#[inline]
pub fn sigmoid(z: f32) -> f32 {
    if z >= 0.0 {
        1.0 / (1.0 + math::exp(-z))
    } else {
        let e = math::exp(z);
        e / (1.0 + e)
    }
}

/// What a softmax computed on the way: the largest pre-activation and `Σ exp(z - max)` (summed
/// in order), from which its cross-entropy follows without another exponential
/// ([`crate::loss::loss_and_delta_given`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoftmaxSums {
    /// The largest pre-activation.
    pub max: f32,
    /// `Σ exp(z - max)`.
    pub sum: f32,
}

/// Softmax in place, shifted by the maximum so exp never overflows.
fn softmax(values: &mut [f32]) {
    softmax_with_sums(values);
}

/// Softmax in place (as [`activate`] computes it), returning its [`SoftmaxSums`].
pub fn softmax_with_sums(values: &mut [f32]) -> SoftmaxSums {
    let max = values
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    let mut sum = 0.0;
    for v in values.iter_mut() {
        *v = math::exp(*v - max);
        sum += *v;
    }
    if sum > 0.0 {
        let inv = 1.0 / sum;
        values.iter_mut().for_each(|v| *v *= inv);
    }
    SoftmaxSums { max, sum }
}

/// Turns dL/dy into dL/dz in place, given the activation's outputs `y`.
///
/// Every derivative is expressed through the output y (ReLU: y > 0; sigmoid: y(1-y);
/// tanh: 1-y²; softmax: y_i (g_i - Σ_j g_j y_j)), so a layer only needs to keep its outputs.
/// At z = 0 the (leaky) ReLU derivative is taken from the negative side.
#[inline(always)]
pub fn activation_backward(activation: Activation, y: &[f32], grad: &mut [f32]) {
    match activation {
        Activation::Identity => {}
        Activation::Relu => grad
            .iter_mut()
            .zip(y)
            .for_each(|(g, &y)| *g = if y > 0.0 { *g } else { 0.0 }),
        Activation::LeakyRelu => grad
            .iter_mut()
            .zip(y)
            .for_each(|(g, &y)| *g = if y > 0.0 { *g } else { LEAKY_RELU_SLOPE * *g }),
        Activation::Sigmoid => grad.iter_mut().zip(y).for_each(|(g, &y)| *g *= y * (1.0 - y)),
        Activation::Tanh => grad.iter_mut().zip(y).for_each(|(g, &y)| *g *= 1.0 - y * y),
        Activation::Softmax => {
            let dot: f32 = grad.iter().zip(y).map(|(g, y)| g * y).sum();
            grad.iter_mut().zip(y).for_each(|(g, &y)| *g = y * (*g - dot));
        }
    }
}

/// An activation named at the type level, for `Dense<IN, OUT, A>`.
pub trait ActivationFn {
    /// The run-time value this marker stands for.
    const KIND: Activation;
}

macro_rules! markers {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name;
        impl ActivationFn for $name {
            const KIND: Activation = Activation::$name;
        }
    )*};
}

markers!(
    /// Type-level [`Activation::Identity`] (a linear layer).
    Identity,
    /// Type-level [`Activation::Relu`].
    Relu,
    /// Type-level [`Activation::LeakyRelu`].
    LeakyRelu,
    /// Type-level [`Activation::Sigmoid`].
    Sigmoid,
    /// Type-level [`Activation::Tanh`].
    Tanh,
    /// Type-level [`Activation::Softmax`].
    Softmax,
);

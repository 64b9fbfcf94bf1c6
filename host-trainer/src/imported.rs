//! What the importers ([`crate::onnx`], [`crate::keras`]) have in common: the network they
//! read, their error, and the chain they build it in, layer by layer, with the input's
//! normalization before the first layer.

use nn_core::{Activation, LayerSpec};

use crate::data::Scaling;
use crate::network::DynNetwork;

/// What a model file could not be read as, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ImportError(pub String);

/// A network read from another framework's file, with the normalization it applies first.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The layers.
    pub net: DynNetwork,
    /// The input normalization, if the model standardizes or rescales its input.
    pub scaling: Option<Scaling>,
    /// The model's name in its file.
    pub name: String,
    /// Which tool wrote it, e.g. `pytorch 2.15.0` or `keras 3.15.1`.
    pub producer: String,
}

/// An element-wise operation on the input by a constant per feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arithmetic {
    /// `x - c`.
    Sub,
    /// `x + c`.
    Add,
    /// `x · c`.
    Mul,
    /// `x / c`.
    Div,
}

/// The last layer read, until its activation is known.
struct Pending {
    inputs: usize,
    outputs: usize,
    weights: Vec<f32>,
    bias: Option<Vec<f32>>,
}

/// A chain of dense layers being read.
pub struct Chain {
    width: usize,
    layers: Vec<(LayerSpec, Vec<f32>, Vec<f32>)>,
    pending: Option<Pending>,
    /// `x' = a·x + b` per feature, composed in f64 (so `Sub c` then `Mul d` comes back as
    /// offset `c` and scale `d` exactly).
    affine: Option<(Vec<f64>, Vec<f64>)>,
}

impl Chain {
    /// A chain taking `features` inputs.
    pub fn new(features: usize) -> Chain {
        Chain {
            width: features,
            layers: Vec::new(),
            pending: None,
            affine: None,
        }
    }

    /// Values the chain has at this point.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether a dense layer was read.
    pub fn has_layers(&self) -> bool {
        !self.layers.is_empty() || self.pending.is_some()
    }

    /// A dense layer of `outputs` units on the chain's values: `weights` row by row
    /// (`[outputs][inputs]`), and its `bias` if it has one yet (`None`: a bias may follow
    /// with [`Chain::bias`], else zeros). Its activation is linear unless
    /// [`Chain::activate`] follows.
    ///
    /// # Errors
    /// For weights that do not fit the chain's width, or a width no weight file holds.
    pub fn dense(&mut self, outputs: usize, weights: Vec<f32>, bias: Option<Vec<f32>>) -> Result<(), String> {
        self.end_layer(Activation::Identity);
        let inputs = self.width;
        if outputs == 0 || outputs > usize::from(u16::MAX) {
            return Err(format!(
                "a layer of {outputs} units (a weight file holds 1 to {} a layer)",
                u16::MAX
            ));
        }
        if weights.len() != inputs * outputs {
            return Err(format!(
                "{} weights for {outputs} units, the chain has {inputs} values here ({} expected)",
                weights.len(),
                inputs * outputs
            ));
        }
        if let Some(bias) = &bias
            && bias.len() != outputs
        {
            return Err(format!("{} biases for {outputs} units", bias.len()));
        }
        self.pending = Some(Pending {
            inputs,
            outputs,
            weights,
            bias,
        });
        self.width = outputs;
        Ok(())
    }

    /// Whether the last layer read still takes a bias ([`Chain::bias`]).
    pub fn awaits_bias(&self) -> bool {
        self.pending.as_ref().is_some_and(|p| p.bias.is_none())
    }

    /// The bias of the last layer read (ONNX's `Add` after `MatMul`).
    ///
    /// # Errors
    /// When no layer awaits one, or it is not one value per unit.
    pub fn bias(&mut self, bias: Vec<f32>) -> Result<(), String> {
        match self.pending.as_mut() {
            Some(p) if p.bias.is_none() && bias.len() == p.outputs => {
                p.bias = Some(bias);
                Ok(())
            }
            Some(p) if p.bias.is_none() => Err(format!("{} biases for {} units", bias.len(), p.outputs)),
            _ => Err("a bias with no dense layer before it".into()),
        }
    }

    /// The activation of the last layer read.
    ///
    /// # Errors
    /// When there is no layer waiting for one (an activation after an activation, or
    /// before the first layer).
    pub fn activate(&mut self, activation: Activation) -> Result<(), String> {
        if self.pending.is_none() {
            return Err(format!(
                "a {activation} activation not right after a dense layer (nn-core applies one activation per layer)"
            ));
        }
        self.end_layer(activation);
        Ok(())
    }

    /// `op` by `constant` (one value, or one per feature) on the input: part of the
    /// normalization.
    ///
    /// # Errors
    /// After the first layer, or for a constant of another length.
    pub fn normalize(&mut self, op: Arithmetic, constant: &[f32]) -> Result<(), String> {
        if self.has_layers() {
            return Err(format!(
                "{op:?} by a constant after the first layer: only arithmetic on the input (its normalization) \
                 becomes part of a weight file"
            ));
        }
        let width = self.width;
        let value = |i: usize| match constant.len() {
            1 => Some(constant[0]),
            n if n == width => Some(constant[i]),
            _ => None,
        };
        if value(0).is_none() {
            return Err(format!(
                "a constant of {} values for {width} features",
                constant.len()
            ));
        }
        let (a, b) = self
            .affine
            .get_or_insert_with(|| (vec![1.0; width], vec![0.0; width]));
        for (i, (a, b)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
            let c = f64::from(value(i).unwrap_or(1.0));
            match op {
                Arithmetic::Sub => *b -= c,
                Arithmetic::Add => *b += c,
                Arithmetic::Mul => {
                    *a *= c;
                    *b *= c;
                }
                Arithmetic::Div => {
                    *a /= c;
                    *b /= c;
                }
            }
        }
        Ok(())
    }

    fn end_layer(&mut self, activation: Activation) {
        if let Some(p) = self.pending.take() {
            let spec = LayerSpec {
                inputs: u16::try_from(p.inputs).unwrap_or(u16::MAX),
                outputs: u16::try_from(p.outputs).unwrap_or(u16::MAX),
                activation,
            };
            let bias = p.bias.unwrap_or_else(|| vec![0.0; p.outputs]);
            self.layers.push((spec, p.weights, bias));
        }
    }

    /// The network read, named `name`, written by `producer`.
    ///
    /// # Errors
    /// With no dense layer, more layers than a weight file holds, or a normalization no file
    /// can hold (a zero or infinite factor).
    pub fn finish(mut self, name: String, producer: String) -> Result<Imported, ImportError> {
        self.end_layer(Activation::Identity);
        if self.layers.is_empty() {
            return Err(ImportError("the model has no dense layer".into()));
        }
        let specs: Vec<LayerSpec> = self.layers.iter().map(|(s, _, _)| *s).collect();
        let mut net = DynNetwork::new(specs).map_err(|e| ImportError(e.to_string()))?;
        let params: Vec<f32> = self
            .layers
            .iter()
            .flat_map(|(_, w, b)| w.iter().chain(b).copied())
            .collect();
        net.params_mut().copy_from_slice(&params);
        let scaling = self.affine.map(|(a, b)| scaling_of(&a, &b)).transpose()?;
        Ok(Imported {
            net,
            scaling,
            name,
            producer,
        })
    }
}

/// `values` of shape `[rows, cols]` as `[cols, rows]` (a `[inputs, outputs]` kernel as rows
/// of weights).
pub fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            if let (Some(o), Some(&v)) = (out.get_mut(c * rows + r), values.get(r * cols + c)) {
                *o = v;
            }
        }
    }
    out
}

/// The file's normalization `(x - offset) * scale` for `x' = a·x + b`.
fn scaling_of(a: &[f64], b: &[f64]) -> Result<Scaling, ImportError> {
    let mut scaling = Scaling {
        offset: Vec::with_capacity(a.len()),
        scale: Vec::with_capacity(a.len()),
    };
    for (i, (&a, &b)) in a.iter().zip(b).enumerate() {
        let (offset, scale) = ((-b / a) as f32, a as f32);
        if !(offset.is_finite() && scale.is_finite() && scale != 0.0) {
            return Err(ImportError(format!(
                "the input's arithmetic gives feature {i} the factor {a}: not a normalization a weight file can hold"
            )));
        }
        scaling.offset.push(offset);
        scaling.scale.push(scale);
    }
    Ok(scaling)
}

/// Refuses a leaky ReLU whose slope is not nn-core's.
///
/// # Errors
/// For any slope but [`nn_core::activation::LEAKY_RELU_SLOPE`].
pub fn check_leaky_slope(slope: f32) -> Result<(), String> {
    if slope == nn_core::activation::LEAKY_RELU_SLOPE {
        Ok(())
    } else {
        Err(format!(
            "slope {slope}: nn-core's leaky ReLU has slope {}",
            nn_core::activation::LEAKY_RELU_SLOPE
        ))
    }
}

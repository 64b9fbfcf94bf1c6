//! The layer view: any network, typed or run-time-shaped, seen as a list of
//! (spec, weights, bias). The trainer trains through it, the encoder writes it, the
//! quantizer reads it; nothing else needs to know a network's type.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::activation::Activation;

/// The most layers a weight file (and so a network that is saved) may have.
pub const MAX_LAYERS: usize = 8;

/// The shape of one dense layer: inputs, outputs, activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LayerSpec {
    /// Number of inputs.
    pub inputs: u16,
    /// Number of outputs.
    pub outputs: u16,
    /// Activation applied to the outputs.
    pub activation: Activation,
}

impl LayerSpec {
    /// Number of weights (`inputs × outputs`).
    pub const fn weight_count(&self) -> usize {
        self.inputs as usize * self.outputs as usize
    }

    /// Number of parameters: weights plus one bias per output.
    pub const fn param_count(&self) -> usize {
        self.weight_count() + self.outputs as usize
    }
}

/// Displays as `16-32 relu`: inputs, outputs, activation.
impl fmt::Display for LayerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{} {}", self.inputs, self.outputs, self.activation)
    }
}

/// The layer list of a network, at most [`MAX_LAYERS`] long.
///
/// Displays as `64-32 relu-10 softmax`: the input width, then each layer's width and
/// activation.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LayerList(pub heapless::Vec<LayerSpec, MAX_LAYERS>);

impl LayerList {
    /// The layers as a slice.
    pub fn as_slice(&self) -> &[LayerSpec] {
        &self.0
    }

    /// Total number of parameters.
    pub fn param_count(&self) -> usize {
        self.0.iter().map(LayerSpec::param_count).sum()
    }

    /// The widest input or output of any layer (0 with no layers): what a run-time path's
    /// buffers must hold.
    pub fn widest(&self) -> usize {
        widest_of(&self.0)
    }

    /// The list of `layers`, `None` if there are more than [`MAX_LAYERS`].
    pub fn of(layers: &[LayerSpec]) -> Option<LayerList> {
        heapless::Vec::from_slice(layers).ok().map(LayerList)
    }
}

/// The widest input or output of any of `layers` (0 with none).
pub fn widest_of(layers: &[LayerSpec]) -> usize {
    layers
        .iter()
        .map(|l| usize::from(l.inputs.max(l.outputs)))
        .max()
        .unwrap_or(0)
}

impl fmt::Display for LayerList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.first() {
            None => f.write_str("(no layers)"),
            Some(first) => {
                write!(f, "{}", first.inputs)?;
                for layer in &self.0 {
                    write!(f, "-{} {}", layer.outputs, layer.activation)?;
                }
                Ok(())
            }
        }
    }
}

/// The Rust type of a network of these layers, as generated code names it:
/// `nn_core::network![nn_core::Dense<1, 16, nn_core::Relu>, ...]` (displayed).
#[derive(Clone, Copy, Debug)]
pub struct NetworkType<'a>(pub &'a [LayerSpec]);

impl fmt::Display for NetworkType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("nn_core::network![")?;
        for (index, layer) in self.0.iter().enumerate() {
            let separator = if index == 0 { "" } else { ", " };
            write!(
                f,
                "{separator}nn_core::Dense<{}, {}, nn_core::{}>",
                layer.inputs,
                layer.outputs,
                layer.activation.type_name()
            )?;
        }
        f.write_str("]")
    }
}

/// One layer seen through the layer view, read-only.
#[derive(Clone, Copy, Debug)]
pub struct LayerParams<'a> {
    /// Shape and activation.
    pub spec: LayerSpec,
    /// Weights, row-major `[outputs][inputs]`.
    pub weights: &'a [f32],
    /// One bias per output.
    pub bias: &'a [f32],
}

/// One layer seen through the layer view, writable in place.
#[derive(Debug)]
pub struct LayerParamsMut<'a> {
    /// Shape and activation.
    pub spec: LayerSpec,
    /// Weights, row-major `[outputs][inputs]`.
    pub weights: &'a mut [f32],
    /// One bias per output.
    pub bias: &'a mut [f32],
}

/// A network seen as a list of layers (contract 3 of DESIGN.md).
pub trait LayerView {
    /// Number of layers.
    fn layer_count(&self) -> usize;
    /// Layer `index` (from 0), or `None` past the end.
    fn layer(&self, index: usize) -> Option<LayerParams<'_>>;

    /// The layer list, or `None` if there are more than [`MAX_LAYERS`] layers.
    fn layer_list(&self) -> Option<LayerList> {
        let mut list = heapless::Vec::new();
        for index in 0..self.layer_count() {
            list.push(self.layer(index)?.spec).ok()?;
        }
        Some(LayerList(list))
    }
}

/// A network whose parameters can be written in place through the layer view.
pub trait LayerViewMut: LayerView {
    /// Layer `index` (from 0), writable, or `None` past the end.
    fn layer_mut(&mut self, index: usize) -> Option<LayerParamsMut<'_>>;
}

/// Runs any network seen through the layer view on `input`: the run-time-shaped twin of
/// [`Layer::predict`](crate::Layer::predict), with the same kernels in the same order, so
/// both give the same bits.
///
/// `scratch_a` and `scratch_b` must each hold the widest layer's inputs and outputs. Returns
/// the output (inside one of the scratch buffers), or `None` if `input` is not the first
/// layer's width, a buffer is too short, or the layers do not chain.
pub fn predict_view<'s>(
    net: &dyn LayerView,
    input: &[f32],
    scratch_a: &'s mut [f32],
    scratch_b: &'s mut [f32],
) -> Option<&'s [f32]> {
    let layers = (0..net.layer_count()).map_while(|index| net.layer(index));
    forward_layers(layers, input, scratch_a, scratch_b)
}

/// The forward pass over `layers`, first to last, with run-time shapes: `input` is copied
/// into `scratch_a`, and each layer writes its output into the other buffer. Returns the
/// last layer's output (inside one of the buffers), or `None` if there is no layer,
/// `input` is not the first layer's width, a buffer is too short, or the layers do not
/// chain. [`predict_view`] and the run-time path ([`crate::runtime`]) both run this.
#[inline]
pub fn forward_layers<'s, 'l>(
    layers: impl IntoIterator<Item = LayerParams<'l>>,
    input: &[f32],
    scratch_a: &'s mut [f32],
    scratch_b: &'s mut [f32],
) -> Option<&'s [f32]> {
    let (mut current, mut next) = (scratch_a, scratch_b);
    current.get_mut(..input.len())?.copy_from_slice(input);
    let mut width = input.len();
    let mut any = false;
    for layer in layers {
        let (inputs, outputs) = (usize::from(layer.spec.inputs), usize::from(layer.spec.outputs));
        if inputs != width || layer.weights.len() != inputs * outputs || layer.bias.len() != outputs {
            return None;
        }
        let out = next.get_mut(..outputs)?;
        crate::dense::dense_layer_run_time(
            layer.weights,
            layer.bias,
            layer.spec.activation,
            current.get(..inputs)?,
            out,
        );
        core::mem::swap(&mut current, &mut next);
        width = outputs;
        any = true;
    }
    if any { current.get(..width) } else { None }
}

/// The widest input or output of any layer: the scratch length [`predict_view`] needs.
pub fn widest_layer(net: &dyn LayerView) -> usize {
    (0..net.layer_count())
        .filter_map(|i| net.layer(i))
        .map(|l| usize::from(l.spec.inputs.max(l.spec.outputs)))
        .max()
        .unwrap_or(0)
}

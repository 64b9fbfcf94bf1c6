//! Post-training int8 quantization (groundwork for the int8 model kind): weights int8
//! symmetric per output channel, activations int8 asymmetric per tensor from a calibration
//! set, bias int32, requantization by fixed-point multipliers — nn-core's integer kernels
//! ([`nn_core::quant`]). The output layer's int32 sums are dequantized and its activation
//! applied in f32 (keeps softmax, sigmoid and tanh outputs accurate). Hidden layers may be
//! linear or ReLU for now (ReLU is a clamp at the zero point); others are refused. Not yet in
//! the weight file or the firmware: this is the host side, measured in tests.

use nn_core::quant::{Multiplier, dense_q8, dense_q8_accumulate};
use nn_core::{Activation, LayerView};

use crate::data::Dataset;
use crate::error::Error;
use crate::network::{DynNetwork, Predictor};

/// Scale and zero point of an int8 tensor: `real = scale · (q - zero_point)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QParams {
    /// Real value of one step.
    pub scale: f32,
    /// The int8 value of real 0.
    pub zero_point: i32,
}

impl QParams {
    /// Parameters covering [min, max] (widened to include 0) with the 256 int8 steps.
    pub fn covering(min: f32, max: f32) -> QParams {
        let (min, max) = (min.min(0.0), max.max(0.0));
        let scale = if max > min { (max - min) / 255.0 } else { 1.0 };
        let zero_point = (-128.0 - min / scale).round().clamp(-128.0, 127.0) as i32;
        QParams { scale, zero_point }
    }

    /// The int8 value nearest to `x`.
    pub fn quantize(&self, x: f32) -> i8 {
        ((x / self.scale).round() as i32 + self.zero_point).clamp(-128, 127) as i8
    }
}

/// One quantized dense layer.
#[derive(Clone, Debug, PartialEq)]
pub struct QLayer {
    /// Activation (applied by clamping for hidden layers, in f32 for the output layer).
    pub activation: Activation,
    /// Inputs, outputs.
    pub shape: (usize, usize),
    /// Weights, row-major `[out][in]`.
    pub weights: Vec<i8>,
    /// Per output channel: weight scale.
    pub weight_scales: Vec<f32>,
    /// Bias with the input zero point folded in.
    pub bias: Vec<i32>,
    /// Per output channel: `s_in · s_w / s_out` (hidden layers).
    pub multipliers: Vec<Multiplier>,
    /// The layer's input tensor.
    pub input: QParams,
    /// The layer's output tensor (hidden layers).
    pub output: QParams,
}

/// An int8 network.
#[derive(Clone, Debug, PartialEq)]
pub struct QNetwork {
    /// The layers.
    pub layers: Vec<QLayer>,
}

/// Quantizes `net` with activation ranges measured on `calibration` (normalized features).
///
/// # Errors
/// [`Error::Config`] for a hidden activation other than linear or ReLU, or no calibration data.
pub fn quantize(net: &DynNetwork, calibration: &Dataset) -> Result<QNetwork, Error> {
    if calibration.is_empty() {
        return Err(Error::Config("quantization needs calibration samples".into()));
    }
    let count = net.layer_count();
    // Ranges of the input and of every layer's output, with nn-core's forward, layer by layer.
    let mut ranges = vec![(f32::INFINITY, f32::NEG_INFINITY); count + 1];
    for i in 0..calibration.len() {
        let mut x = calibration.x(i).to_vec();
        widen(&mut ranges[0], &x);
        for l in 0..count {
            let Some(layer) = net.layer(l) else { continue };
            let mut y = vec![0.0; usize::from(layer.spec.outputs)];
            nn_core::dense::dense_layer(layer.weights, layer.bias, layer.spec.activation, &x, &mut y);
            widen(&mut ranges[l + 1], &y);
            x = y;
        }
    }
    let mut layers = Vec::with_capacity(count);
    for l in 0..count {
        let Some(layer) = net.layer(l) else { continue };
        let last = l + 1 == count;
        if !last && !matches!(layer.spec.activation, Activation::Identity | Activation::Relu) {
            return Err(Error::Config(format!(
                "int8: hidden {} layers are not supported yet (linear and relu are)",
                layer.spec.activation
            )));
        }
        let (n_in, n_out) = (usize::from(layer.spec.inputs), usize::from(layer.spec.outputs));
        let input = QParams::covering(ranges[l].0, ranges[l].1);
        let output = QParams::covering(ranges[l + 1].0, ranges[l + 1].1);
        let weight_scales: Vec<f32> = layer
            .weights
            .chunks(n_in)
            .map(|row| row.iter().fold(0.0f32, |m, w| m.max(w.abs())).max(1e-12) / 127.0)
            .collect();
        let weights: Vec<i8> = layer
            .weights
            .iter()
            .enumerate()
            .map(|(k, w)| (w / weight_scales[k / n_in]).round().clamp(-127.0, 127.0) as i8)
            .collect();
        let bias = (0..n_out)
            .map(|o| {
                let sum_w: i32 = weights[o * n_in..(o + 1) * n_in]
                    .iter()
                    .map(|&w| i32::from(w))
                    .sum();
                let b = f64::from(layer.bias[o]) / (f64::from(input.scale) * f64::from(weight_scales[o]));
                b.round() as i32 - input.zero_point * sum_w
            })
            .collect();
        let multipliers = weight_scales
            .iter()
            .map(|&s| Multiplier::from_real(f64::from(input.scale) * f64::from(s) / f64::from(output.scale)))
            .collect();
        layers.push(QLayer {
            activation: layer.spec.activation,
            shape: (n_in, n_out),
            weights,
            weight_scales,
            bias,
            multipliers,
            input,
            output,
        });
    }
    Ok(QNetwork { layers })
}

fn widen(range: &mut (f32, f32), values: &[f32]) {
    for &v in values {
        range.0 = range.0.min(v);
        range.1 = range.1.max(v);
    }
}

impl QNetwork {
    /// The int8 forward pass on a normalized input: quantize, integer layers, dequantize the
    /// output layer's sums and apply its activation (nn-core's, in f32).
    pub fn predict(&self, x: &[f32]) -> Vec<f32> {
        let Some(first) = self.layers.first() else {
            return vec![];
        };
        let mut q: Vec<i8> = x.iter().map(|&v| first.input.quantize(v)).collect();
        for (l, layer) in self.layers.iter().enumerate() {
            if l + 1 == self.layers.len() {
                let mut acc = vec![0i32; layer.shape.1];
                dense_q8_accumulate(&layer.weights, &layer.bias, &q, &mut acc);
                let mut y: Vec<f32> = acc
                    .iter()
                    .zip(&layer.weight_scales)
                    .map(|(&a, &s)| a as f32 * layer.input.scale * s)
                    .collect();
                nn_core::activation::activate(layer.activation, &mut y);
                return y;
            }
            let min = if layer.activation == Activation::Relu {
                layer.output.zero_point as i8
            } else {
                -128
            };
            let mut y = vec![0i8; layer.shape.1];
            dense_q8(
                &layer.weights,
                &layer.bias,
                &layer.multipliers,
                &q,
                layer.output.zero_point,
                min,
                127,
                &mut y,
            );
            q = y;
        }
        vec![]
    }

    /// Bytes of parameters: int8 weights, int32 biases, and per channel a multiplier, a
    /// shift and a weight scale.
    pub fn parameter_bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.weights.len() + 4 * l.bias.len() + 12 * l.shape.1)
            .sum()
    }
}

/// The f32 network's and the int8 network's predictions on `data`, side by side: (mean
/// squared error of each against the targets, accuracy of each for classification, the
/// largest output difference).
pub fn compare(net: &DynNetwork, qnet: &QNetwork, data: &Dataset) -> Comparison {
    let mut predictor = Predictor::new(net);
    let mut c = Comparison::default();
    let n = data.len().max(1) as f32;
    for i in 0..data.len() {
        let f = predictor.predict(net, data.x(i)).to_vec();
        let q = qnet.predict(data.x(i));
        let t = data.y(i);
        let se = |y: &[f32]| y.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum::<f32>() / t.len() as f32;
        c.mse_f32 += se(&f) / n;
        c.mse_int8 += se(&q) / n;
        c.max_abs_diff = f
            .iter()
            .zip(&q)
            .map(|(a, b)| (a - b).abs())
            .fold(c.max_abs_diff, f32::max);
        if data.task.is_classification() {
            let label = data.labels[i];
            c.accuracy_f32 += f32::from(u8::from(crate::metrics::predicted_class(&f) == label)) / n;
            c.accuracy_int8 += f32::from(u8::from(crate::metrics::predicted_class(&q) == label)) / n;
        }
    }
    c
}

/// f32 against int8 on one data set.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Comparison {
    /// Mean squared error of the f32 network.
    pub mse_f32: f32,
    /// Mean squared error of the int8 network.
    pub mse_int8: f32,
    /// Accuracy of the f32 network (classification).
    pub accuracy_f32: f32,
    /// Accuracy of the int8 network (classification).
    pub accuracy_int8: f32,
    /// Largest difference of one output.
    pub max_abs_diff: f32,
}

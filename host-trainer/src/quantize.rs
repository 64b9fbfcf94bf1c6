//! Post-training int8 quantization: weights int8 symmetric per output channel, activations
//! int8 asymmetric per tensor from a calibration set, bias int32 with the input zero point
//! folded in, hidden layers requantized by integer multipliers and shifts
//! ([`nn_core::quant`]), the output layer's sums dequantized and its activation applied in
//! f32 (which keeps softmax, sigmoid and tanh outputs as accurate as the sums).
//!
//! Hidden layers may be linear or ReLU (ReLU is a clamp at the zero point), or tanh or
//! sigmoid as TensorFlow Lite quantizes them: the sums requantized to a pre-activation
//! tensor covering their calibration range, then a table of the activation for each of its
//! 256 values, into TFLite's fixed output tensors (sigmoid: scale 1/256, zero point -128;
//! tanh: scale 1/128, zero point 0). Such files are format version 4. Leaky ReLU and
//! softmax hidden layers are refused. A requantization multiplier `s_in · s_w / s_out` must be below 0.25 (see
//! [`nn_core::quant::Requantizer`]): where a layer's would not be, its output scale is
//! widened until it is (in practice multipliers are far smaller; nothing is lost).
//!
//! The int8 forward is nn-core's ([`nn_core::Int8Model::predict`]), so what the host measures
//! and writes as test vectors is what a board computes, bit for bit.

use nn_core::quant::{MAX_REQUANTIZER, Requantizer};
use nn_core::{Activation, Int8LayerParams, Int8Model, Int8Stage, LayerView, Lookup, QuantParams};

use crate::data::Dataset;
use crate::error::Error;
use crate::network::{DynNetwork, Predictor};

/// Parameters covering [min, max] (widened to include 0) with the 256 int8 steps.
pub fn covering(min: f32, max: f32) -> QuantParams {
    let (min, max) = (min.min(0.0), max.max(0.0));
    let scale = if max > min { (max - min) / 255.0 } else { 1.0 };
    let zero_point = (-128.0 - min / scale).round().clamp(-128.0, 127.0) as i32;
    QuantParams { scale, zero_point }
}

/// One quantized dense layer, owned.
#[derive(Clone, Debug, PartialEq)]
pub struct QLayer {
    /// Shape and activation.
    pub spec: nn_core::LayerSpec,
    /// Weights, row-major `[out][in]`.
    pub weights: Vec<i8>,
    /// Per output channel: weight scale.
    pub weight_scales: Vec<f32>,
    /// Bias with the input zero point folded in.
    pub bias: Vec<i32>,
    /// The layer's input tensor.
    pub input: QuantParams,
    /// Hidden layers: per output channel, the requantization multiplier. Empty for the
    /// output layer.
    pub multiplier: Vec<i32>,
    /// Hidden layers: the requantization shift shared by the layer's channels.
    pub shift: u8,
    /// The output tensor (hidden layers).
    pub output: QuantParams,
    /// Output layer: per channel `s_in · s_w[o]`. Empty for hidden layers.
    pub dequantize: Vec<f32>,
    /// Hidden tanh or sigmoid layers: the pre-activation tensor the sums are requantized to,
    /// and the activation's table.
    pub lookup: Option<(QuantParams, [i8; 256])>,
}

/// An int8 network, owned.
#[derive(Clone, Debug, PartialEq)]
pub struct QNetwork {
    /// The layers; every one but the last requantizes.
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
    // Ranges of the input and of every layer's output, with nn-core's forward, layer by layer,
    // and of every layer's sums before its activation (`pre`).
    let mut ranges = vec![(f32::INFINITY, f32::NEG_INFINITY); count + 1];
    let mut pre = vec![(f32::INFINITY, f32::NEG_INFINITY); count];
    for i in 0..calibration.len() {
        let mut x = calibration.x(i).to_vec();
        widen(&mut ranges[0], &x);
        for l in 0..count {
            let Some(layer) = net.layer(l) else { continue };
            let mut y = vec![0.0; usize::from(layer.spec.outputs)];
            nn_core::dense::dense_layer(layer.weights, layer.bias, Activation::Identity, &x, &mut y);
            widen(&mut pre[l], &y);
            nn_core::activation::activate(layer.spec.activation, &mut y);
            widen(&mut ranges[l + 1], &y);
            x = y;
        }
    }
    let mut layers: Vec<QLayer> = Vec::with_capacity(count);
    let mut input = covering(ranges[0].0, ranges[0].1);
    for l in 0..count {
        let Some(layer) = net.layer(l) else { continue };
        let last = l + 1 == count;
        if !last && !nn_core::format::hidden_activation_supported(layer.spec.activation) {
            return Err(Error::Config(format!(
                "int8: layer {l} is a hidden {} layer; int8 hidden layers are linear, relu, tanh or \
                 sigmoid (the output layer may have any activation)",
                layer.spec.activation
            )));
        }
        let n_in = usize::from(layer.spec.inputs);
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
        let bias = weights
            .chunks(n_in)
            .zip(layer.bias)
            .zip(&weight_scales)
            .map(|((row, &b), &s)| {
                let sum_w: i32 = row.iter().map(|&w| i32::from(w)).sum();
                let b = f64::from(b) / (f64::from(input.scale) * f64::from(s));
                b.round() as i32 - input.zero_point * sum_w
            })
            .collect();
        let mut q = QLayer {
            spec: layer.spec,
            weights,
            weight_scales,
            bias,
            input,
            multiplier: vec![],
            shift: 0,
            output: input,
            dequantize: vec![],
            lookup: None,
        };
        if last {
            q.dequantize = q.weight_scales.iter().map(|&s| input.scale * s).collect();
        } else {
            let largest = q.weight_scales.iter().fold(0.0f32, |m, &s| m.max(s));
            let table = nn_core::format::hidden_uses_table(layer.spec.activation);
            // The tensor the sums are requantized to: the output's, or for a table the
            // pre-activation's.
            let range = if table { pre[l] } else { ranges[l + 1] };
            let mut output = covering(range.0, range.1);
            // Keep every multiplier below the Requantizer's bound (with a margin for rounding).
            let floor = (f64::from(input.scale) * f64::from(largest) / (MAX_REQUANTIZER * 0.99)) as f32;
            if output.scale < floor {
                let zero = output.zero_point;
                output = QuantParams {
                    scale: floor,
                    zero_point: zero,
                };
            }
            // One shift per layer, that of its largest multiplier; the others are smaller
            // integers (at least 2^20 for channels within 2^-10 of the largest: ample for int8).
            let reals: Vec<f64> = q
                .weight_scales
                .iter()
                .map(|&s| f64::from(input.scale) * f64::from(s) / f64::from(output.scale))
                .collect();
            let unfit = || Error::Config(format!("int8: layer {l} cannot be requantized"));
            let largest = reals.iter().fold(0.0f64, |m, &r| m.max(r));
            q.shift = Requantizer::from_real(largest).ok_or_else(unfit)?.shift;
            q.multiplier = reals
                .iter()
                .map(|&r| {
                    Requantizer::with_shift(r, q.shift)
                        .map(|r| r.multiplier)
                        .ok_or_else(unfit)
                })
                .collect::<Result<_, _>>()?;
            if table {
                let out = table_output(layer.spec.activation);
                q.lookup = Some((output, activation_table(layer.spec.activation, output, out)));
                output = out;
            }
            q.output = output;
            input = output;
        }
        layers.push(q);
    }
    Ok(QNetwork { layers })
}

/// The output tensor TensorFlow Lite gives an int8 activation of fixed range: sigmoid
/// (0, 1) at scale 1/256 from -128, tanh (-1, 1) at scale 1/128 around 0.
fn table_output(activation: Activation) -> QuantParams {
    match activation {
        Activation::Sigmoid => QuantParams {
            scale: 1.0 / 256.0,
            zero_point: -128,
        },
        _ => QuantParams {
            scale: 1.0 / 128.0,
            zero_point: 0,
        },
    }
}

/// The int8 table of `activation` from `input` to `output` (TFLite's `LUTPopulate`): entry
/// `q + 128` holds `clamp(round(f(s_in · (q - zp_in)) / s_out) + zp_out)`, in f64.
pub fn activation_table(activation: Activation, input: QuantParams, output: QuantParams) -> [i8; 256] {
    let mut table = [0i8; 256];
    for (i, entry) in table.iter_mut().enumerate() {
        let q = i as i32 - 128;
        let x = f64::from(input.scale) * f64::from(q - input.zero_point);
        let y = match activation {
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            _ => x.tanh(),
        };
        let quantized = (y / f64::from(output.scale)).round() + f64::from(output.zero_point);
        *entry = quantized.clamp(-128.0, 127.0) as i8;
    }
    table
}

fn widen(range: &mut (f32, f32), values: &[f32]) {
    for &v in values {
        range.0 = range.0.min(v);
        range.1 = range.1.max(v);
    }
}

impl QNetwork {
    /// The network as nn-core sees it (slices borrowed from this one): what is written to
    /// the file and what runs.
    pub fn model(&self) -> Int8Model<'_> {
        let mut model = Int8Model {
            rules: nn_core::Int8Rules::NnCore,
            rounding: nn_core::tflm::Rounding::Double,
            input_tables: None,
            input: self.layers.first().map_or(
                QuantParams {
                    scale: 1.0,
                    zero_point: 0,
                },
                |l| l.input,
            ),
            layers: Default::default(),
        };
        for (l, q) in self.layers.iter().enumerate() {
            let stage = if l + 1 == self.layers.len() {
                Int8Stage::Dequantize { scale: &q.dequantize }
            } else {
                Int8Stage::Requantize {
                    multiplier: &q.multiplier,
                    shift: q.shift,
                    output: q.output,
                    lookup: q
                        .lookup
                        .as_ref()
                        .map(|(input, table)| Lookup { input: *input, table }),
                }
            };
            // A DynNetwork that reached here has at most MAX_LAYERS layers.
            let _ = model.layers.push(Int8LayerParams {
                spec: q.spec,
                weights: &q.weights,
                bias: &q.bias,
                stage,
            });
        }
        model
    }

    /// Bytes of parameters as the int8 file holds them (without normalization and vectors).
    pub fn parameter_bytes(&self) -> usize {
        self.model().parameter_bytes()
    }
}

/// Runs an int8 network over normalized inputs with reused scratch buffers.
pub struct QPredictor {
    a: Vec<i8>,
    b: Vec<i8>,
    y: Vec<f32>,
}

impl QPredictor {
    /// Buffers for `model`.
    pub fn new(model: &Int8Model<'_>) -> QPredictor {
        let width = model.widest_layer();
        let outputs = model.layers.last().map_or(0, |l| usize::from(l.spec.outputs));
        QPredictor {
            a: vec![0; width],
            b: vec![0; width],
            y: vec![0.0; outputs],
        }
    }

    /// nn-core's int8 forward on one normalized input.
    pub fn predict(&mut self, model: &Int8Model<'_>, x: &[f32]) -> &[f32] {
        if model.predict(x, &mut self.a, &mut self.b, &mut self.y).is_none() {
            self.y.iter_mut().for_each(|v| *v = f32::NAN);
        }
        &self.y
    }
}

/// An int8 network with its buffers, as a [`Forward`](crate::metrics::Forward).
pub struct QForward<'m> {
    model: Int8Model<'m>,
    predictor: QPredictor,
}

impl<'m> QForward<'m> {
    /// Buffers for `model`.
    pub fn new(model: Int8Model<'m>) -> QForward<'m> {
        let predictor = QPredictor::new(&model);
        QForward { model, predictor }
    }
}

impl crate::metrics::Forward for QForward<'_> {
    fn forward(&mut self, x: &[f32]) -> &[f32] {
        self.predictor.predict(&self.model, x)
    }
}

/// An int8 weight file held in 4-byte aligned memory, so its parameters can be read in
/// place as nn-core reads them on a board.
pub struct Int8File {
    words: Vec<u32>,
    len: usize,
}

impl Int8File {
    /// A copy of `bytes`, checked to be a valid int8 weight file.
    ///
    /// # Errors
    /// nn-core's, for a file that is not one ([`nn_core::Error::WrongModelKind`] for an f32 file).
    pub fn new(bytes: &[u8]) -> Result<Int8File, nn_core::Error> {
        let mut words = vec![0u32; bytes.len().div_ceil(4)];
        bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        let file = Int8File {
            words,
            len: bytes.len(),
        };
        file.model()?;
        Ok(file)
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u32, u8>(&self.words)[..self.len]
    }

    /// The network, borrowed from the bytes.
    ///
    /// # Errors
    /// None once [`Int8File::new`] succeeded (the bytes do not change).
    pub fn model(&self) -> Result<Int8Model<'_>, nn_core::Error> {
        nn_core::WeightFile::parse_exact(self.bytes())?.int8_model()
    }
}

/// The f32 network's and the int8 network's predictions on `data`, side by side.
pub fn compare(net: &DynNetwork, qnet: &QNetwork, data: &Dataset) -> Comparison {
    let mut predictor = Predictor::new(net);
    let model = qnet.model();
    let mut qpredictor = QPredictor::new(&model);
    let mut c = Comparison {
        samples: data.len(),
        ..Comparison::default()
    };
    let classification = data.task.is_classification();
    // Counted in integers and summed in f64: an f32 running mean drifts (0.9955 for
    // 199,886 of 200,000; 0.999998 for 133 of 133).
    let (mut se_f32, mut se_int8) = (0.0f64, 0.0f64);
    let (mut right_f32, mut right_int8, mut agree) = (0usize, 0usize, 0usize);
    for i in 0..data.len() {
        let f = predictor.predict(net, data.x(i)).to_vec();
        let q = qpredictor.predict(&model, data.x(i));
        let t = data.y(i);
        let se = |y: &[f32]| {
            let sum: f64 = y
                .iter()
                .zip(t)
                .map(|(a, b)| f64::from(a - b) * f64::from(a - b))
                .sum();
            sum / t.len() as f64
        };
        se_f32 += se(&f);
        se_int8 += se(q);
        c.max_abs_diff = f
            .iter()
            .zip(q)
            .map(|(a, b)| (a - b).abs())
            .fold(c.max_abs_diff, f32::max);
        if classification {
            let label = data.labels[i];
            let (cf, cq) = (
                crate::metrics::predicted_class(&f),
                crate::metrics::predicted_class(q),
            );
            right_f32 += usize::from(cf == label);
            right_int8 += usize::from(cq == label);
            agree += usize::from(cf == cq);
        }
    }
    let n = data.len().max(1) as f64;
    c.mse_f32 = se_f32 / n;
    c.mse_int8 = se_int8 / n;
    if classification {
        c.accuracy_f32 = right_f32 as f64 / n;
        c.accuracy_int8 = right_int8 as f64 / n;
        c.agreement = agree as f64 / n;
    }
    c.classification = classification;
    c
}

/// f32 against int8 on one data set.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// Samples compared.
    pub samples: usize,
    /// Whether accuracies are meaningful.
    pub classification: bool,
    /// Mean squared error of the f32 network.
    pub mse_f32: f64,
    /// Mean squared error of the int8 network.
    pub mse_int8: f64,
    /// Accuracy of the f32 network (classification).
    pub accuracy_f32: f64,
    /// Accuracy of the int8 network (classification).
    pub accuracy_int8: f64,
    /// Fraction of samples where both predict the same class (classification).
    pub agreement: f64,
    /// Largest difference of one output.
    pub max_abs_diff: f32,
}

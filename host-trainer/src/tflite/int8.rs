//! Quantized (int8) TensorFlow Lite models: a chain of `FULLY_CONNECTED` layers read into an
//! int8 weight file of TensorFlow Lite Micro's arithmetic ([`nn_core::Int8Rules::TfliteMicro`]),
//! which computes on the board the int8 values TFLite Micro's reference kernels compute.
//!
//! Read: a float input through `QUANTIZE`, or an int8 input; `SUB`, `ADD` and `MUL` by
//! int8 constants before the first layer (a converted Keras `Normalization`), folded into one
//! 256-entry table per input by TFLite Micro's arithmetic for them; `FULLY_CONNECTED` (int8
//! weights per tensor or per channel, zero point 0, int32 bias, fused none or ReLU);
//! `LOGISTIC` and `TANH` (tables of TFLite Micro's kernels); `SOFTMAX` at the end;
//! `RESHAPE` of one sample; `DEQUANTIZE` at the end. The parameters TFLite computes when
//! it prepares each kernel are computed here the same way (in the same precision) and
//! stored.

use nn_core::tflm::{self, Rounding, SoftmaxParams};
use nn_core::{
    Activation, Int8LayerParams, Int8Model, Int8Rules, Int8Stage, LayerSpec, QuantParams, TflmActivation,
    TflmStage,
};

use super::{FLOAT32, Graph, INT8, Op, Tensor, op, op_label};
use crate::imported::ImportError;

/// TFLite's `TensorType` for int32.
const INT32: u8 = 2;
/// TFLite's `TensorType` for int16.
const INT16: u8 = 7;

/// An int8 TensorFlow Lite model as nn-core runs it.
#[derive(Clone, Debug)]
pub struct ImportedInt8 {
    /// The model's name in its file.
    pub name: String,
    /// Which tool wrote it.
    pub producer: String,
    /// The first layer's input tensor.
    pub input: QuantParams,
    /// How it requantizes (the TFLite build it is to match).
    pub rounding: Rounding,
    /// One table per input (the operations before the first layer), if it has any.
    pub input_tables: Option<Vec<i8>>,
    /// The layers.
    pub layers: Vec<Int8Layer>,
}

/// One layer of an [`ImportedInt8`].
#[derive(Clone, Debug)]
pub struct Int8Layer {
    /// Shape and activation.
    pub spec: LayerSpec,
    /// `[outputs][inputs]`.
    pub weights: Vec<i8>,
    /// The bias with the input zero point folded in.
    pub bias: Vec<i32>,
    /// Per output.
    pub multiplier: Vec<i32>,
    /// Per output.
    pub shift: Vec<i32>,
    /// The sums' tensor.
    pub sums: QuantParams,
    /// What follows the sums.
    pub activation: Int8Activation,
}

/// The activation stage of an [`Int8Layer`].
#[derive(Clone, Debug)]
pub enum Int8Activation {
    /// Linear or ReLU.
    Clamp,
    /// Tanh or sigmoid: the output tensor and the table.
    Table(QuantParams, Box<[i8; 256]>),
    /// Softmax: the output tensor and the kernel's parameters.
    Softmax(QuantParams, SoftmaxParams),
}

impl ImportedInt8 {
    /// The model as nn-core sees it (borrowed): what is written and what runs.
    pub fn model(&self) -> Int8Model<'_> {
        let mut model = Int8Model {
            rules: Int8Rules::TfliteMicro,
            rounding: self.rounding,
            input: self.input,
            input_tables: self.input_tables.as_deref(),
            layers: Default::default(),
        };
        for layer in &self.layers {
            let activation = match &layer.activation {
                Int8Activation::Clamp => TflmActivation::Clamp,
                Int8Activation::Table(output, table) => TflmActivation::Table {
                    output: *output,
                    table,
                },
                Int8Activation::Softmax(output, params) => TflmActivation::Softmax {
                    output: *output,
                    params: *params,
                },
            };
            // At most MAX_LAYERS layers were read.
            let _ = model.layers.push(Int8LayerParams {
                spec: layer.spec,
                weights: &layer.weights,
                bias: &layer.bias,
                stage: Int8Stage::Tflm(TflmStage {
                    multiplier: &layer.multiplier,
                    shift: &layer.shift,
                    sums: layer.sums,
                    activation,
                }),
            });
        }
        model
    }
}

/// A tensor's per-tensor quantization.
fn params_of(t: &Tensor) -> Result<QuantParams, ImportError> {
    match (t.scales.as_slice(), t.zero_points.as_slice()) {
        ([scale], [zero_point]) if *scale > 0.0 && (-128..=127).contains(zero_point) => Ok(QuantParams {
            scale: *scale,
            zero_point: *zero_point as i32,
        }),
        _ => Err(ImportError(format!(
            "tensor '{}' is not quantized per tensor to int8 (scales {:?}, zero points {:?})",
            t.name, t.scales, t.zero_points
        ))),
    }
}

/// Reads the int8 chain of `graph`, from its input to its output.
pub(super) fn read(
    graph: &Graph<'_>,
    name: String,
    producer: String,
    rounding: Rounding,
) -> Result<ImportedInt8, ImportError> {
    let tensor = |index: i32| graph.tensor(index);
    let (input, features) = (graph.input, graph.features);
    if let Some(t) = graph.tensors.iter().find(|t| t.kind == INT16) {
        return Err(ImportError(format!(
            "tensor '{}' is int16 (16x8 quantization): import reads int8 activations",
            t.name
        )));
    }
    let input_tensor = tensor(input)?;
    let mut ops = graph.ops.iter().peekable();
    let mut current = input;
    match input_tensor.kind {
        INT8 => {}
        FLOAT32 => {
            let quantize = ops
                .next()
                .filter(|o| o.code == op::QUANTIZE && o.ins.first() == Some(&input));
            let quantize = quantize.ok_or_else(|| {
                ImportError("a quantized model whose float input is not quantized first (QUANTIZE)".into())
            })?;
            current = *quantize
                .outs
                .first()
                .ok_or_else(|| super::damaged("an operator's outputs"))?;
        }
        other => {
            return Err(ImportError(format!(
                "input '{}' of tensor type {other}",
                input_tensor.name
            )));
        }
    }
    let input_params = params_of(tensor(current)?)?;
    let mut quant = input_params;
    let mut tables: Option<Vec<[i8; 256]>> = None;
    let mut layers: Vec<Int8Layer> = Vec::new();
    let mut width = features;
    let mut dequantized = false;
    for operator in ops {
        let code = operator.code;
        let out = *operator
            .outs
            .first()
            .ok_or_else(|| super::damaged("an operator's outputs"))?;
        let out_tensor = tensor(out)?;
        let refuse = |what: String| {
            ImportError(format!(
                "operator {} (output '{}'): {what}",
                op_label(code),
                out_tensor.name
            ))
        };
        if dequantized {
            return Err(refuse(
                "after DEQUANTIZE: import reads one chain ending there".into(),
            ));
        }
        let position = operator.ins.iter().position(|&i| i == current);
        let takes_chain = match code {
            op::ADD | op::MUL => position.is_some(),
            _ => position == Some(0),
        };
        if !takes_chain {
            return Err(refuse(
                "does not take the chain's value: import reads one chain of layers".into(),
            ));
        }
        let fused = operator.options.map_or(Ok(0), |o| o.u8_field(0, 0))?;
        match code {
            op::SUB | op::ADD | op::MUL => {
                if !layers.is_empty() {
                    return Err(refuse(
                        "arithmetic after the first layer (read: before it, by constants)".into(),
                    ));
                }
                if fused != 0 {
                    return Err(refuse(format!("a fused activation {fused} on arithmetic")));
                }
                let other = tensor(operator.ins[1 - position.unwrap_or(0).min(1)])?;
                if other.kind != INT8 || other.raw.is_empty() {
                    return Err(refuse(format!("input '{}' is not an int8 constant", other.name)));
                }
                let constant: Vec<i8> = other.raw.iter().map(|&b| b as i8).collect();
                if constant.len() != width && constant.len() != 1 {
                    return Err(refuse(format!(
                        "a constant of {} values for {width} features",
                        constant.len()
                    )));
                }
                let (c_params, out_params) = (params_of(other)?, params_of(out_tensor)?);
                let elementwise =
                    Elementwise::new(code, quant, c_params, out_params, rounding).map_err(refuse)?;
                let tables = tables.get_or_insert_with(|| vec![tflm::table(|q| q); width]);
                for (feature, table) in tables.iter_mut().enumerate() {
                    let c = constant[feature.min(constant.len() - 1)];
                    for q in table.iter_mut() {
                        *q = elementwise.apply(*q, c);
                    }
                }
                quant = out_params;
            }
            op::FULLY_CONNECTED => {
                let layer =
                    fully_connected(operator, &tensor, quant, width, fused, rounding).map_err(refuse)?;
                if layers.len() == nn_core::MAX_LAYERS {
                    return Err(refuse(format!(
                        "a weight file holds at most {} layers",
                        nn_core::MAX_LAYERS
                    )));
                }
                width = usize::from(layer.spec.outputs);
                quant = layer.sums;
                layers.push(layer);
            }
            op::LOGISTIC | op::TANH | op::SOFTMAX => {
                let layer = layers
                    .last_mut()
                    .filter(|l| {
                        l.spec.activation == Activation::Identity
                            && matches!(l.activation, Int8Activation::Clamp)
                    })
                    .ok_or_else(|| refuse("does not follow a FULLY_CONNECTED without activation".into()))?;
                let output = params_of(out_tensor)?;
                let (activation, stage) = match code {
                    op::LOGISTIC => {
                        expect_output(output, 1.0 / 256.0, -128).map_err(refuse)?;
                        let table = tflm::logistic_table(quant.scale, quant.zero_point, rounding)
                            .ok_or_else(|| {
                                refuse(format!("an input scale {} out of TFLite's range", quant.scale))
                            })?;
                        (
                            Activation::Sigmoid,
                            Int8Activation::Table(output, Box::new(table)),
                        )
                    }
                    op::TANH => {
                        expect_output(output, 1.0 / 128.0, 0).map_err(refuse)?;
                        let table =
                            tflm::tanh_table(quant.scale, quant.zero_point, rounding).ok_or_else(|| {
                                refuse(format!("an input scale {} out of TFLite's range", quant.scale))
                            })?;
                        (Activation::Tanh, Int8Activation::Table(output, Box::new(table)))
                    }
                    _ => {
                        expect_output(output, 1.0 / 256.0, -128).map_err(refuse)?;
                        let beta = operator.options.map_or(Ok(1.0), |o| o.f32_field(0, 1.0))?;
                        let params = SoftmaxParams::new(quant.scale, beta, rounding).ok_or_else(|| {
                            refuse(format!("an input scale {} out of TFLite's range", quant.scale))
                        })?;
                        (Activation::Softmax, Int8Activation::Softmax(output, params))
                    }
                };
                layer.spec.activation = activation;
                layer.activation = stage;
                quant = output;
            }
            op::RESHAPE => {
                let shape = &out_tensor.shape;
                if shape.iter().skip(1).product::<usize>() != width
                    && shape.iter().product::<usize>() != width
                {
                    return Err(refuse(format!(
                        "to shape {shape:?}, not one sample's {width} values"
                    )));
                }
            }
            op::DEQUANTIZE => dequantized = true,
            other => {
                return Err(refuse(format!(
                    "{} is not supported in a quantized model: import reads QUANTIZE (of the input), SUB/ADD/MUL by \
                     constants before the first layer, FULLY_CONNECTED, LOGISTIC, TANH, SOFTMAX, RESHAPE and \
                     DEQUANTIZE (at the end)",
                    op_label(other)
                )));
            }
        }
        current = out;
    }
    if graph.outputs != [current] {
        return Err(ImportError(
            "the model's output is not the end of its chain of operators".into(),
        ));
    }
    if layers.is_empty() {
        return Err(ImportError("no FULLY_CONNECTED layer".into()));
    }
    if let Some(softmax) = layers[..layers.len() - 1]
        .iter()
        .position(|l| l.spec.activation == Activation::Softmax)
    {
        return Err(ImportError(format!(
            "a softmax on hidden layer {softmax}: it ends a network"
        )));
    }
    Ok(ImportedInt8 {
        name,
        producer,
        input: input_params,
        rounding,
        input_tables: tables.map(|t| t.iter().flatten().copied().collect()),
        layers,
    })
}

/// The output tensor TFLite requires of a `LOGISTIC`, `TANH` or `SOFTMAX`.
fn expect_output(output: QuantParams, scale: f32, zero_point: i32) -> Result<(), String> {
    if output.scale == scale && output.zero_point == zero_point {
        Ok(())
    } else {
        Err(format!(
            "an output of scale {} and zero point {} (TFLite's is {scale} and {zero_point})",
            output.scale, output.zero_point
        ))
    }
}

/// A `FULLY_CONNECTED` on int8 values of `input`: its weights, bias with the input zero
/// point folded in, and requantizers as TFLite Micro prepares them.
fn fully_connected<'t>(
    operator: &Op<'_>,
    tensor: &impl Fn(i32) -> Result<&'t Tensor, ImportError>,
    input: QuantParams,
    width: usize,
    fused: u8,
    rounding: Rounding,
) -> Result<Int8Layer, String> {
    let message = |e: ImportError| e.0;
    let w = tensor(*operator.ins.get(1).ok_or("no weights")?).map_err(message)?;
    let [outputs, inputs] = w.shape.as_slice() else {
        return Err(format!("weights of shape {:?}", w.shape));
    };
    let (outputs, inputs) = (*outputs, *inputs);
    if inputs != width {
        return Err(format!("weights for {inputs} inputs, the chain has {width} here"));
    }
    if outputs == 0 || outputs > usize::from(u16::MAX) {
        return Err(format!("a layer of {outputs} units"));
    }
    if w.kind != INT8 || w.raw.len() != inputs * outputs {
        return Err(format!(
            "weights '{}' that are not {} int8 constants",
            w.name,
            inputs * outputs
        ));
    }
    if w.zero_points.iter().any(|&z| z != 0) {
        return Err(format!("weights '{}' with a zero point other than 0", w.name));
    }
    let filter_scales: Vec<f32> = match w.scales.len() {
        1 => vec![w.scales[0]; outputs],
        n if n == outputs => w.scales.clone(),
        n => return Err(format!("{n} weight scales for {outputs} outputs")),
    };
    let weights: Vec<i8> = w.raw.iter().map(|&b| b as i8).collect();
    let bias: Vec<i32> = match operator.ins.get(2) {
        Some(&b) if b >= 0 => {
            let b = tensor(b).map_err(message)?;
            if b.kind != INT32 || b.raw.len() != 4 * outputs {
                return Err(format!("bias '{}' that is not {outputs} int32 constants", b.name));
            }
            b.raw
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        }
        _ => vec![0; outputs],
    };
    let sums =
        params_of(tensor(*operator.outs.first().ok_or("no output")?).map_err(message)?).map_err(message)?;
    let activation = match fused {
        0 => Activation::Identity,
        1 => Activation::Relu,
        other => return Err(format!("fused activation {other} (read: none, ReLU)")),
    };
    let mut multiplier = Vec::with_capacity(outputs);
    let mut shift = Vec::with_capacity(outputs);
    for &filter_scale in &filter_scales {
        let real = f64::from(input.scale) * f64::from(filter_scale) / f64::from(sums.scale);
        let (m, s) = tflm::quantize_multiplier(real, rounding)
            .ok_or_else(|| format!("an effective scale {real} out of range"))?;
        multiplier.push(m);
        shift.push(s);
    }
    // TFLite adds `(x - zp_in) · w`; the file holds `bias - zp_in · Σ w` (the same in int32).
    let folded = weights
        .chunks_exact(inputs)
        .zip(&bias)
        .map(|(row, &b)| {
            let sum: i32 = row.iter().map(|&w| i32::from(w)).sum();
            b.wrapping_sub(input.zero_point.wrapping_mul(sum))
        })
        .collect();
    Ok(Int8Layer {
        spec: LayerSpec {
            inputs: inputs as u16,
            outputs: outputs as u16,
            activation,
        },
        weights,
        bias: folded,
        multiplier,
        shift,
        sums,
        activation: Int8Activation::Clamp,
    })
}

/// TFLite Micro's int8 `SUB`, `ADD` or `MUL` of the chain's value and a constant, as its
/// kernels prepare and compute them.
struct Elementwise {
    code: i32,
    x: QuantParams,
    c: QuantParams,
    out: QuantParams,
    /// `SUB`/`ADD`: the two inputs' and the output's requantizers; `MUL`: the output's.
    requantizers: [(i32, i32); 3],
    rounding: Rounding,
}

/// The left shift of TFLite's int8 `ADD` and `SUB`.
const ADD_LEFT_SHIFT: i32 = 20;

impl Elementwise {
    fn new(
        code: i32,
        x: QuantParams,
        c: QuantParams,
        out: QuantParams,
        rounding: Rounding,
    ) -> Result<Elementwise, String> {
        let quantize = |real: f64| {
            tflm::quantize_multiplier(real, rounding)
                .ok_or_else(|| format!("a rescaling by {real} out of TFLite's range"))
        };
        let requantizers = match code {
            op::MUL => {
                let real = f64::from(x.scale) * f64::from(c.scale) / f64::from(out.scale);
                [quantize(real)?, (0, 0), (0, 0)]
            }
            op::SUB => {
                // TFLite Micro's SUB prepares in f32.
                let twice_max = 2.0 * x.scale.max(c.scale);
                [
                    quantize(f64::from(x.scale / twice_max))?,
                    quantize(f64::from(c.scale / twice_max))?,
                    quantize(f64::from(twice_max / ((1 << ADD_LEFT_SHIFT) as f32 * out.scale)))?,
                ]
            }
            _ => {
                // Its ADD in f64.
                let twice_max = 2.0 * f64::from(x.scale.max(c.scale));
                [
                    quantize(f64::from(x.scale) / twice_max)?,
                    quantize(f64::from(c.scale) / twice_max)?,
                    quantize(twice_max / (f64::from(1 << ADD_LEFT_SHIFT) * f64::from(out.scale)))?,
                ]
            }
        };
        Ok(Elementwise {
            code,
            x,
            c,
            out,
            requantizers,
            rounding,
        })
    }

    /// The int8 result for the chain's value `q` and the constant `c`.
    fn apply(&self, q: i8, c: i8) -> i8 {
        let rescale =
            |v: i32, (m, s): (i32, i32)| tflm::multiply_by_quantized_multiplier(v, m, s, self.rounding);
        let x = i32::from(q) - self.x.zero_point;
        let c = i32::from(c) - self.c.zero_point;
        let raw = if self.code == op::MUL {
            rescale(x * c, self.requantizers[0])
        } else {
            let a = rescale(x * (1 << ADD_LEFT_SHIFT), self.requantizers[0]);
            let b = rescale(c * (1 << ADD_LEFT_SHIFT), self.requantizers[1]);
            let sum = if self.code == op::SUB { a - b } else { a + b };
            rescale(sum, self.requantizers[2])
        };
        raw.wrapping_add(self.out.zero_point).clamp(-128, 127) as i8
    }
}

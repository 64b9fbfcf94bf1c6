//! TensorFlow Lite models (`.tflite` flatbuffers) of a chain of dense layers, in f32.
//!
//! The flatbuffer is read by hand, bounds-checked at every step (a damaged file is an error,
//! never a panic), through the few tables of TFLite's schema a dense chain needs (field
//! numbers as in `schema.fbs`): `Model` (operator codes, subgraphs, buffers), `SubGraph`
//! (tensors, inputs, outputs, operators), `Tensor` (shape, type, buffer, name), `Operator`
//! (opcode, inputs, outputs, options) and the options of `FULLY_CONNECTED`, `SOFTMAX` and
//! `LEAKY_RELU`.
//!
//! Read: `FULLY_CONNECTED` (weights `[outputs, inputs]`, bias, fused activation none or
//! ReLU), `RELU`, `LEAKY_RELU` (0.01), `LOGISTIC`, `TANH`, `SOFTMAX` (beta 1), `RESHAPE` of
//! one sample, and `SUB`/`MUL`/`ADD`/`DIV` by constant tensors before the first layer (as the
//! TFLite converter writes a Keras `Normalization`) as the weight file's normalization.
//! Quantized models (int8 tensors) are read (module `int8`, [`ImportedInt8`]) into int8 files of TensorFlow Lite
//! Micro's arithmetic.

mod int8;

pub use int8::{ImportedInt8, Int8Activation, Int8Layer};

use crate::imported::{Arithmetic, Chain, ImportError, Imported, check_leaky_slope};
use nn_core::Activation;

/// A TensorFlow Lite model read: f32 (into an f32 weight file) or int8 (into an int8 file
/// of TensorFlow Lite Micro's arithmetic).
#[derive(Clone, Debug)]
pub enum TfliteModel {
    /// An f32 model.
    F32(Imported),
    /// A quantized model.
    Int8(ImportedInt8),
}

/// A position in the flatbuffer, checked on every read.
#[derive(Clone, Copy)]
struct Buf<'a>(&'a [u8]);

/// A table: its position and its vtable's.
#[derive(Clone, Copy)]
struct Table<'a> {
    buf: Buf<'a>,
    at: usize,
    vtable: usize,
}

fn damaged(what: &str) -> ImportError {
    ImportError(format!("not a readable TensorFlow Lite file (damaged at {what})"))
}

impl<'a> Buf<'a> {
    fn u8(self, at: usize) -> Result<u8, ImportError> {
        self.0.get(at).copied().ok_or_else(|| damaged("a byte"))
    }

    fn u16(self, at: usize) -> Result<u16, ImportError> {
        let b = self
            .0
            .get(at..at.checked_add(2).ok_or_else(|| damaged("an offset"))?)
            .ok_or_else(|| damaged("a u16"))?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(self, at: usize) -> Result<u32, ImportError> {
        let b = self
            .0
            .get(at..at.checked_add(4).ok_or_else(|| damaged("an offset"))?)
            .ok_or_else(|| damaged("a u32"))?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The table an unsigned offset at `at` points to.
    fn table_at(self, at: usize) -> Result<Table<'a>, ImportError> {
        let table = at
            .checked_add(self.u32(at)? as usize)
            .ok_or_else(|| damaged("a table offset"))?;
        let soffset = self.u32(table)? as i32;
        let vtable = (table as i64 - i64::from(soffset))
            .try_into()
            .map_err(|_| damaged("a vtable"))?;
        self.u16(vtable)?;
        Ok(Table {
            buf: self,
            at: table,
            vtable,
        })
    }
}

impl<'a> Table<'a> {
    /// The position of field `index`, if present.
    fn field(&self, index: usize) -> Result<Option<usize>, ImportError> {
        let vtable_len = usize::from(self.buf.u16(self.vtable)?);
        let slot = 4 + 2 * index;
        if slot + 2 > vtable_len {
            return Ok(None);
        }
        let offset = usize::from(self.buf.u16(self.vtable + slot)?);
        Ok((offset != 0).then_some(self.at + offset))
    }

    fn u8_field(&self, index: usize, default: u8) -> Result<u8, ImportError> {
        self.field(index)?.map_or(Ok(default), |at| self.buf.u8(at))
    }

    fn u32_field(&self, index: usize, default: u32) -> Result<u32, ImportError> {
        self.field(index)?.map_or(Ok(default), |at| self.buf.u32(at))
    }

    fn f32_field(&self, index: usize, default: f32) -> Result<f32, ImportError> {
        self.field(index)?
            .map_or(Ok(default), |at| Ok(f32::from_bits(self.buf.u32(at)?)))
    }

    fn table(&self, index: usize) -> Result<Option<Table<'a>>, ImportError> {
        self.field(index)?.map(|at| self.buf.table_at(at)).transpose()
    }

    /// A vector field: the position of its first element and its length.
    fn vector(&self, index: usize) -> Result<(usize, usize), ImportError> {
        let Some(at) = self.field(index)? else {
            return Ok((0, 0));
        };
        let start = at
            .checked_add(self.buf.u32(at)? as usize)
            .ok_or_else(|| damaged("a vector"))?;
        let len = self.buf.u32(start)? as usize;
        Ok((start + 4, len))
    }

    fn bytes(&self, index: usize) -> Result<&'a [u8], ImportError> {
        let (start, len) = self.vector(index)?;
        self.buf
            .0
            .get(start..start.checked_add(len).ok_or_else(|| damaged("bytes"))?)
            .ok_or_else(|| damaged("bytes"))
    }

    fn string(&self, index: usize) -> Result<String, ImportError> {
        Ok(String::from_utf8_lossy(self.bytes(index)?).into_owned())
    }

    fn i32s(&self, index: usize) -> Result<Vec<i32>, ImportError> {
        let (start, len) = self.vector(index)?;
        (0..len)
            .map(|i| Ok(self.buf.u32(start + 4 * i)? as i32))
            .collect()
    }

    fn f32s(&self, index: usize) -> Result<Vec<f32>, ImportError> {
        let (start, len) = self.vector(index)?;
        (0..len)
            .map(|i| Ok(f32::from_bits(self.buf.u32(start + 4 * i)?)))
            .collect()
    }

    fn i64s(&self, index: usize) -> Result<Vec<i64>, ImportError> {
        let (start, len) = self.vector(index)?;
        (0..len)
            .map(|i| {
                let at = start.checked_add(8 * i).ok_or_else(|| damaged("an offset"))?;
                let low = u64::from(self.buf.u32(at)?);
                let high = u64::from(self.buf.u32(at + 4)?);
                Ok((high << 32 | low) as i64)
            })
            .collect()
    }

    fn tables(&self, index: usize) -> Result<Vec<Table<'a>>, ImportError> {
        let (start, len) = self.vector(index)?;
        (0..len).map(|i| self.buf.table_at(start + 4 * i)).collect()
    }
}

/// TFLite's operator codes this reader knows (`BuiltinOperator` in `schema.fbs`).
mod op {
    pub const ADD: i32 = 0;
    pub const FULLY_CONNECTED: i32 = 9;
    pub const LOGISTIC: i32 = 14;
    pub const MUL: i32 = 18;
    pub const RELU: i32 = 19;
    pub const RESHAPE: i32 = 22;
    pub const SOFTMAX: i32 = 25;
    pub const TANH: i32 = 28;
    pub const SUB: i32 = 41;
    pub const DIV: i32 = 42;
    pub const LEAKY_RELU: i32 = 98;
    pub const QUANTIZE: i32 = 114;
    pub const DEQUANTIZE: i32 = 6;
}

/// A tensor of the subgraph.
struct Tensor {
    shape: Vec<usize>,
    kind: u8,
    name: String,
    /// Its constant values (f32 tensors with data in their buffer).
    data: Option<Vec<f32>>,
    /// Its buffer's bytes (empty for a tensor computed at run time).
    raw: Vec<u8>,
    /// Its quantization: scales (one, or one per channel) and zero points.
    scales: Vec<f32>,
    zero_points: Vec<i64>,
}

/// The subgraph as the readers walk it: its tensors, its operators in order, its input
/// (of `features` values a sample) and its outputs.
struct Graph<'a> {
    tensors: Vec<Tensor>,
    ops: Vec<Op<'a>>,
    input: i32,
    features: usize,
    outputs: Vec<i32>,
}

impl Graph<'_> {
    /// Tensor `index`, or an error for an index the file does not have.
    fn tensor(&self, index: i32) -> Result<&Tensor, ImportError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.tensors.get(i))
            .ok_or_else(|| damaged("a tensor index"))
    }
}

/// An operator of the subgraph.
struct Op<'a> {
    code: i32,
    ins: Vec<i32>,
    outs: Vec<i32>,
    options: Option<Table<'a>>,
}

/// TFLite's `TensorType` for f32.
const FLOAT32: u8 = 0;
/// TFLite's `TensorType` for int8.
const INT8: u8 = 9;

/// Reads an f32 TensorFlow Lite model of a chain of dense layers.
///
/// # Errors
/// [`ImportError`] for a damaged file, a quantized model (read those with [`read`]), or an
/// operator that is not part of a dense chain (naming it and its output tensor).
pub fn import(bytes: &[u8]) -> Result<Imported, ImportError> {
    match read(bytes)? {
        TfliteModel::F32(imported) => Ok(imported),
        TfliteModel::Int8(_) => Err(ImportError("a quantized (int8) model, not an f32 one".into())),
    }
}

/// Reads a TensorFlow Lite model of a chain of dense layers, f32 or int8 (requantizing as
/// TensorFlow Lite Micro's default build: [`nn_core::tflm::Rounding::Double`]).
///
/// # Errors
/// [`ImportError`] for a damaged file, or an operator that is not part of a dense chain
/// (naming it and its output tensor).
pub fn read(bytes: &[u8]) -> Result<TfliteModel, ImportError> {
    read_with(bytes, nn_core::tflm::Rounding::Double)
}

/// [`read`], an int8 model requantizing with `rounding` (that of the TFLite build the board's
/// values are to match).
///
/// # Errors
/// As [`read`].
pub fn read_with(bytes: &[u8], rounding: nn_core::tflm::Rounding) -> Result<TfliteModel, ImportError> {
    read_graph(bytes, rounding).map_err(|error| match convolution_in(bytes) {
        // The first refusal may be a convolution's helper (Conv1D is EXPAND_DIMS, CONV_2D).
        Some(conv) if !error.0.contains(conv) => ImportError(format!(
            "{}; the model has {conv} (a convolution), which import does not read",
            error.0
        )),
        _ => error,
    })
}

/// The name of a convolution or pooling operator the model's operator table has, if any.
fn convolution_in(bytes: &[u8]) -> Option<&'static str> {
    let codes = operator_codes(Buf(bytes).table_at(0).ok()?).ok()?;
    codes.iter().find_map(|code| match code {
        3 => Some("CONV_2D"),
        4 => Some("DEPTHWISE_CONV_2D"),
        1 => Some("AVERAGE_POOL_2D"),
        17 => Some("MAX_POOL_2D"),
        _ => None,
    })
}

/// The model's operator codes (`BuiltinOperator`, the larger of the deprecated byte and
/// the newer field).
fn operator_codes(model: Table<'_>) -> Result<Vec<i32>, ImportError> {
    model
        .tables(1)?
        .iter()
        .map(|c| {
            let deprecated = i32::from(c.u8_field(0, 0)?);
            let code = c.u32_field(3, 0)? as i32;
            Ok(deprecated.max(code))
        })
        .collect()
}

/// The subgraph's operators in order, each with its code looked up.
fn operators<'a>(graph: &Table<'a>, codes: &[i32]) -> Result<Vec<Op<'a>>, ImportError> {
    graph
        .tables(3)?
        .iter()
        .map(|operator| {
            let code = usize::try_from(operator.u32_field(0, 0)?)
                .ok()
                .and_then(|i| codes.get(i))
                .copied()
                .ok_or_else(|| damaged("an operator code"))?;
            Ok(Op {
                code,
                ins: operator.i32s(1)?,
                outs: operator.i32s(2)?,
                options: operator.table(4)?,
            })
        })
        .collect()
}

/// Values per sample of the input tensor (its shape after the batch dimension), refused if
/// none.
fn input_features(input: &Tensor) -> Result<usize, ImportError> {
    let features = match input.shape.as_slice() {
        [features] => *features,
        [_, rest @ ..] => rest.iter().product(),
        [] => 0,
    };
    if features == 0 {
        return Err(ImportError(format!(
            "input '{}' of shape {:?}",
            input.name, input.shape
        )));
    }
    Ok(features)
}

/// [`read_with`] but for the convolution note.
fn read_graph(bytes: &[u8], rounding: nn_core::tflm::Rounding) -> Result<TfliteModel, ImportError> {
    let buf = Buf(bytes);
    let model = buf.table_at(0)?;
    let codes = operator_codes(model)?;
    let subgraphs = model.tables(2)?;
    let [graph] = subgraphs.as_slice() else {
        return Err(ImportError(format!(
            "{} subgraphs: import reads models of one",
            subgraphs.len()
        )));
    };
    let buffers = model.tables(4)?;
    let tensors: Vec<Tensor> = graph
        .tables(0)?
        .iter()
        .map(|t| {
            let shape = t
                .i32s(0)?
                .iter()
                .map(|&d| usize::try_from(d).unwrap_or(0))
                .collect();
            let kind = t.u8_field(1, FLOAT32)?;
            let buffer = t.u32_field(2, 0)? as usize;
            let name = t.string(3)?;
            let raw = match buffers.get(buffer) {
                Some(b) if buffer > 0 => b.bytes(0)?,
                _ => &[],
            };
            let data = (!raw.is_empty() && kind == FLOAT32).then(|| {
                raw.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()
            });
            let (scales, zero_points) = match t.table(4)? {
                Some(q) => (q.f32s(2)?, q.i64s(3)?),
                None => (Vec::new(), Vec::new()),
            };
            Ok(Tensor {
                shape,
                kind,
                name,
                data,
                raw: raw.to_vec(),
                scales,
                zero_points,
            })
        })
        .collect::<Result<_, ImportError>>()?;
    let inputs = graph.i32s(1)?;
    let [input] = *inputs.as_slice() else {
        return Err(ImportError(format!(
            "{} inputs: import reads models of one input",
            inputs.len()
        )));
    };
    let description = model.string(3)?;
    let producer = format!("tflite {}", description.trim()).trim().to_owned();
    let ops = operators(graph, &codes)?;
    let name = graph.string(4)?;
    let mut graph = Graph {
        tensors,
        ops,
        input,
        features: 0,
        outputs: graph.i32s(2)?,
    };
    graph.features = input_features(graph.tensor(input)?)?;
    if graph.tensors.iter().any(|t| t.kind == INT8) {
        return int8::read(&graph, name, producer, rounding).map(TfliteModel::Int8);
    }
    let tensor = |index: i32| graph.tensor(index);
    let features = graph.features;
    let mut chain = Chain::new(features);
    let mut current = input;
    for operator in &graph.ops {
        let (code, ins, outs) = (operator.code, &operator.ins, &operator.outs);
        let out = *outs.first().ok_or_else(|| damaged("an operator's outputs"))?;
        let out_name = tensor(out)?.name.clone();
        let refuse = |what: String| {
            ImportError(format!(
                "operator {} (output '{out_name}'): {what}",
                op_label(code)
            ))
        };
        if ins.first() != Some(&current) {
            return Err(refuse(
                "does not take the chain's value: import reads one chain of layers".into(),
            ));
        }
        let constant = |k: usize| -> Result<&Vec<f32>, ImportError> {
            let t = tensor(*ins.get(k).ok_or_else(|| refuse(format!("input {k} missing")))?)?;
            t.data
                .as_ref()
                .ok_or_else(|| refuse(format!("input '{}' is not a constant", t.name)))
        };
        let options = operator.options;
        match code {
            op::FULLY_CONNECTED => {
                let w = tensor(*ins.get(1).ok_or_else(|| refuse("no weights".into()))?)?;
                let [outputs, inputs] = w.shape.as_slice() else {
                    return Err(refuse(format!("weights of shape {:?}", w.shape)));
                };
                if *inputs != chain.width() {
                    return Err(refuse(format!(
                        "weights for {inputs} inputs, the chain has {} here",
                        chain.width()
                    )));
                }
                let weights = constant(1)?.clone();
                let bias = match ins.get(2) {
                    Some(&b) if b >= 0 => constant(2)?.clone(),
                    _ => vec![0.0; *outputs],
                };
                chain.dense(*outputs, weights, Some(bias)).map_err(refuse)?;
                let fused = options.map_or(Ok(0), |o| o.u8_field(0, 0))?;
                match fused {
                    0 => {}
                    1 => chain.activate(Activation::Relu).map_err(refuse)?,
                    4 => chain.activate(Activation::Tanh).map_err(refuse)?,
                    other => {
                        return Err(refuse(format!(
                            "fused activation {other} (read: none, ReLU, tanh)"
                        )));
                    }
                }
            }
            op::RELU => chain.activate(Activation::Relu).map_err(refuse)?,
            op::LOGISTIC => chain.activate(Activation::Sigmoid).map_err(refuse)?,
            op::TANH => chain.activate(Activation::Tanh).map_err(refuse)?,
            op::LEAKY_RELU => {
                let alpha = options.map_or(Ok(0.0), |o| o.f32_field(0, 0.0))?;
                check_leaky_slope(alpha).map_err(refuse)?;
                chain.activate(Activation::LeakyRelu).map_err(refuse)?;
            }
            op::SOFTMAX => {
                let beta = options.map_or(Ok(1.0), |o| o.f32_field(0, 1.0))?;
                if beta != 1.0 {
                    return Err(refuse(format!("softmax with beta {beta} (nn-core's has beta 1)")));
                }
                chain.activate(Activation::Softmax).map_err(refuse)?;
            }
            op::SUB | op::ADD | op::MUL | op::DIV => {
                let fused = options.map_or(Ok(0), |o| o.u8_field(0, 0))?;
                if fused != 0 {
                    return Err(refuse(format!("a fused activation {fused} on arithmetic")));
                }
                let arithmetic = match code {
                    op::SUB => Arithmetic::Sub,
                    op::ADD => Arithmetic::Add,
                    op::MUL => Arithmetic::Mul,
                    _ => Arithmetic::Div,
                };
                chain.normalize(arithmetic, constant(1)?).map_err(refuse)?;
            }
            op::RESHAPE | op::QUANTIZE | op::DEQUANTIZE => {
                let shape = &tensor(out)?.shape;
                if shape.iter().skip(1).product::<usize>() != chain.width()
                    && shape.iter().product::<usize>() != chain.width()
                {
                    return Err(refuse(format!(
                        "to shape {shape:?}, not one sample's {} values",
                        chain.width()
                    )));
                }
            }
            other => {
                return Err(refuse(format!(
                    "{} is not supported: import reads FULLY_CONNECTED, RELU, LEAKY_RELU (0.01), LOGISTIC, TANH, \
                     SOFTMAX, RESHAPE, and SUB/MUL/ADD/DIV by constants before the first layer",
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
    chain.finish(name, producer).map(TfliteModel::F32)
}

/// The operator's name in messages.
fn op_label(code: i32) -> String {
    match code {
        op::FULLY_CONNECTED => "FULLY_CONNECTED".into(),
        op::RELU => "RELU".into(),
        op::LOGISTIC => "LOGISTIC".into(),
        op::TANH => "TANH".into(),
        op::LEAKY_RELU => "LEAKY_RELU".into(),
        op::SOFTMAX => "SOFTMAX".into(),
        op::SUB => "SUB".into(),
        op::ADD => "ADD".into(),
        op::MUL => "MUL".into(),
        op::DIV => "DIV".into(),
        op::RESHAPE => "RESHAPE".into(),
        op::QUANTIZE => "QUANTIZE".into(),
        op::DEQUANTIZE => "DEQUANTIZE".into(),
        3 => "CONV_2D".into(),
        70 => "EXPAND_DIMS".into(),
        43 => "SQUEEZE".into(),
        34 => "PAD".into(),
        39 => "TRANSPOSE".into(),
        40 => "MEAN".into(),
        45 => "STRIDED_SLICE".into(),
        49 => "SPLIT".into(),
        53 => "CAST".into(),
        4 => "DEPTHWISE_CONV_2D".into(),
        1 => "AVERAGE_POOL_2D".into(),
        17 => "MAX_POOL_2D".into(),
        16 => "LSTM".into(),
        44 => "UNIDIRECTIONAL_SEQUENCE_LSTM".into(),
        21 => "RELU6".into(),
        2 => "CONCATENATION".into(),
        other => format!("builtin operator {other}"),
    }
}

//! ONNX, both ways, for a chain of dense layers.
//!
//! [`export`] writes an f32 network as an ONNX model (opset 13): the file's normalization
//! as `Sub` then `Mul` (nn-core's `(x - offset) * scale`), each layer as `Gemm` (weights
//! `[outputs, inputs]`, `transB = 1`) and its activation's node. [`import`] reads what
//! `torch.onnx.export`, tf2onnx and [`export`] write for such a network: `Gemm`, or
//! `MatMul` then `Add`; `Relu`, `LeakyRelu` (slope 0.01, nn-core's), `Sigmoid`, `Tanh`,
//! `Softmax` over the features; `Identity`/`Dropout`/`Flatten`/`Reshape` as no-ops on one sample's
//! features, and `Sub`/`Div`/`Mul`/`Add` by constant vectors before the first layer (the
//! constant on either side of `Add`, `Mul` and `Sub`) as the file's normalization. Anything
//! else is refused with the node, its name and what is supported. Importing what [`export`]
//! wrote gives the same parameters bit for bit.

pub mod proto;

use std::collections::HashMap;

use nn_core::{Activation, LayerView};
use prost::Message;

use crate::data::Scaling;
use crate::imported::{Arithmetic, Chain, check_leaky_slope, transpose};
pub use crate::imported::{ImportError, Imported};
use crate::network::DynNetwork;
use proto::{
    AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto, attribute_type, data_type,
};

/// The operator set [`export`] writes.
pub const EXPORT_OPSET: i64 = 13;

/// The IR version of ONNX 1.8, the first with opset 13.
const EXPORT_IR_VERSION: i64 = 7;

/// Operator sets [`import`] reads.
pub const IMPORT_OPSETS: std::ops::RangeInclusive<i64> = 9..=21;

/// The ONNX model of `net` (f32) with `scaling` applied first, named `name`.
pub fn export(net: &DynNetwork, scaling: Option<&Scaling>, name: &str) -> Vec<u8> {
    let mut graph = GraphProto {
        name: name.to_owned(),
        ..GraphProto::default()
    };
    let features = net.inputs();
    graph.input.push(value_info("input", features));
    let mut current = "input".to_owned();
    let step = |graph: &mut GraphProto, op: &str, inputs: Vec<String>, attribute: Vec<AttributeProto>| {
        let output = format!("{}_{}", op.to_lowercase(), graph.node.len());
        graph.node.push(NodeProto {
            input: inputs,
            output: vec![output.clone()],
            name: output.clone(),
            op_type: op.to_owned(),
            attribute,
            domain: String::new(),
        });
        output
    };
    if let Some(s) = scaling {
        graph
            .initializer
            .push(f32_tensor("offset", &[features], &s.offset));
        graph.initializer.push(f32_tensor("scale", &[features], &s.scale));
        current = step(&mut graph, "Sub", vec![current, "offset".into()], vec![]);
        current = step(&mut graph, "Mul", vec![current, "scale".into()], vec![]);
    }
    for index in 0..net.layer_count() {
        let Some(layer) = net.layer(index) else { continue };
        let (inputs, outputs) = (usize::from(layer.spec.inputs), usize::from(layer.spec.outputs));
        let (w, b) = (format!("dense_{index}.weight"), format!("dense_{index}.bias"));
        graph
            .initializer
            .push(f32_tensor(&w, &[outputs, inputs], layer.weights));
        graph.initializer.push(f32_tensor(&b, &[outputs], layer.bias));
        current = step(
            &mut graph,
            "Gemm",
            vec![current, w, b],
            vec![int_attribute("transB", 1)],
        );
        let activation = match layer.spec.activation {
            Activation::Relu => Some(("Relu", vec![])),
            Activation::LeakyRelu => Some((
                "LeakyRelu",
                vec![float_attribute("alpha", nn_core::activation::LEAKY_RELU_SLOPE)],
            )),
            Activation::Sigmoid => Some(("Sigmoid", vec![])),
            Activation::Tanh => Some(("Tanh", vec![])),
            Activation::Softmax => Some(("Softmax", vec![int_attribute("axis", 1)])),
            _ => None,
        };
        if let Some((op, attributes)) = activation {
            current = step(&mut graph, op, vec![current], attributes);
        }
    }
    // The last node's output is the graph's output.
    if let Some(last) = graph.node.last_mut() {
        last.output = vec!["output".into()];
    } else {
        graph.node.push(NodeProto {
            input: vec![current],
            output: vec!["output".into()],
            name: "identity".into(),
            op_type: "Identity".into(),
            ..NodeProto::default()
        });
    }
    graph.output.push(value_info("output", net.outputs()));
    let model = ModelProto {
        ir_version: EXPORT_IR_VERSION,
        producer_name: "nn-mcu host-trainer".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: format!("{name}: written by host-trainer export --onnx"),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: EXPORT_OPSET,
        }],
    };
    model.encode_to_vec()
}

fn value_info(name: &str, features: usize) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto {
                    dim: vec![
                        Dimension {
                            dim_value: 0,
                            dim_param: "batch".into(),
                        },
                        Dimension {
                            dim_value: features as i64,
                            dim_param: String::new(),
                        },
                    ],
                }),
            }),
        }),
    }
}

fn f32_tensor(name: &str, dims: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: data_type::FLOAT,
        name: name.into(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..TensorProto::default()
    }
}

fn int_attribute(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: value,
        r#type: attribute_type::INT,
        ..AttributeProto::default()
    }
}

fn float_attribute(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f: value,
        r#type: attribute_type::FLOAT,
        ..AttributeProto::default()
    }
}

/// A constant tensor of the graph, as f32 values with its shape.
#[derive(Clone, Debug, PartialEq)]
struct Constant {
    dims: Vec<usize>,
    values: Vec<f32>,
}

/// The values of `tensor` as f32 (float, double or integer tensors; integers are shapes
/// for `Reshape`).
fn constant_of(tensor: &TensorProto) -> Result<Constant, ImportError> {
    let bad = |what: &str| ImportError(format!("tensor '{}': {what}", tensor.name));
    if tensor.data_location == 1 {
        return Err(bad(
            "its values are in an external file, which import does not read (save the model with its weights inside)",
        ));
    }
    let dims: Vec<usize> = tensor
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| bad(&format!("negative dimension {d}"))))
        .collect::<Result<_, _>>()?;
    let count = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| bad("too large"))?;
    let raw = &tensor.raw_data;
    let values: Vec<f32> = match tensor.data_type {
        data_type::FLOAT if !raw.is_empty() => raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        data_type::FLOAT => tensor.float_data.clone(),
        data_type::DOUBLE if !raw.is_empty() => raw
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        data_type::DOUBLE => tensor.double_data.iter().map(|&v| v as f32).collect(),
        data_type::INT64 if !raw.is_empty() => raw
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        data_type::INT64 => tensor.int64_data.iter().map(|&v| v as f32).collect(),
        data_type::INT32 if !raw.is_empty() => raw
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
            .collect(),
        data_type::INT32 => tensor.int32_data.iter().map(|&v| v as f32).collect(),
        other => {
            return Err(bad(&format!(
                "element type {other} (supported: float, double, int32, int64; quantized ONNX models are not)"
            )));
        }
    };
    if values.len() != count {
        return Err(bad(&format!("{} values for shape {dims:?}", values.len())));
    }
    Ok(Constant { dims, values })
}

/// Reads an ONNX model of a chain of dense layers (see the module's documentation).
///
/// # Errors
/// [`ImportError`] naming the node (operator and name) or tensor that is not supported or
/// not consistent, and what is supported.
pub fn import(bytes: &[u8]) -> Result<Imported, ImportError> {
    let model =
        ModelProto::decode(bytes).map_err(|e| ImportError(format!("not an ONNX model (protobuf: {e})")))?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map_or(1, |o| o.version);
    if !IMPORT_OPSETS.contains(&opset) {
        return Err(ImportError(format!(
            "operator set {opset}: import reads opsets {} to {}",
            IMPORT_OPSETS.start(),
            IMPORT_OPSETS.end()
        )));
    }
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| ImportError("the model has no graph".into()))?;
    let mut constants: HashMap<&str, Constant> = HashMap::new();
    for tensor in &graph.initializer {
        constants.insert(&tensor.name, constant_of(tensor)?);
    }
    let inputs: Vec<&ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !constants.contains_key(i.name.as_str()))
        .collect();
    let [input] = inputs.as_slice() else {
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        return Err(ImportError(format!(
            "the graph has {} inputs ({}): import reads networks of one input",
            names.len(),
            names.join(", ")
        )));
    };
    check_operators(graph)?;
    let features = features_of(input)?;
    let mut chain = Chain::new(features);
    let mut current = input.name.clone();
    for node in &graph.node {
        let at = || format!("node {} '{}'", node.op_type, node.name);
        let refuse = |what: String| ImportError(format!("{}: {what}", at()));
        if node.op_type == "Constant" {
            let tensor = attribute(node, "value")
                .and_then(|a| a.t.as_ref())
                .ok_or_else(|| refuse("a Constant without a tensor value".into()))?;
            let output = node.output.first().ok_or_else(|| refuse("no output".into()))?;
            constants.insert(output, constant_of(tensor)?);
            continue;
        }
        if !node.domain.is_empty() && node.domain != "ai.onnx" {
            return Err(refuse(format!(
                "operator domain '{}' (import reads the standard operators)",
                node.domain
            )));
        }
        // The chain's value is the first input, or the second of an Add, Mul or Sub whose
        // first is a constant (`c + x`, `c · x`, `c - x`).
        let is_constant = |name: &String| constants.contains_key(name.as_str());
        let at_chain = match node.input.iter().position(|n| *n == current) {
            Some(0) => 0,
            Some(1)
                if matches!(node.op_type.as_str(), "Add" | "Mul" | "Sub")
                    && node.input.first().is_some_and(is_constant) =>
            {
                1
            }
            _ => {
                return Err(refuse(format!(
                    "does not take the chain's value '{current}' as its first input: import reads one chain of \
                     layers (no branches, skips or shape computations)"
                )));
            }
        };
        let joined: Vec<&str> = node
            .input
            .iter()
            .enumerate()
            .filter(|&(i, n)| i != at_chain && !n.is_empty() && !is_constant(n))
            .map(|(_, n)| n.as_str())
            .collect();
        if !joined.is_empty() {
            return Err(refuse(format!(
                "joins the chain's value with '{}', which is not a constant: a skip connection or a branch \
                 (import reads one chain of layers)",
                joined.join("', '")
            )));
        }
        let constant_input = |k: usize| -> Result<&Constant, ImportError> {
            let name = node
                .input
                .get(k)
                .ok_or_else(|| refuse(format!("input {k} missing")))?;
            constants.get(name.as_str()).ok_or_else(|| {
                refuse(format!(
                    "input '{name}' is not a constant (import reads weights stored in the model)"
                ))
            })
        };
        let output = node
            .output
            .first()
            .cloned()
            .ok_or_else(|| refuse("no output".into()))?;
        let width = chain.width();
        match node.op_type.as_str() {
            "Gemm" => {
                let (alpha, beta) = (float_of(node, "alpha", 1.0), float_of(node, "beta", 1.0));
                if int_of(node, "transA", 0) != 0 {
                    return Err(refuse(
                        "transA = 1 (the input transposed) is not a dense layer on one sample".into(),
                    ));
                }
                let w = constant_input(1)?;
                let trans_b = int_of(node, "transB", 0) != 0;
                let (outputs, inputs) = match (w.dims.as_slice(), trans_b) {
                    ([o, i], true) => (*o, *i),
                    ([i, o], false) => (*o, *i),
                    (dims, _) => {
                        return Err(refuse(format!(
                            "weights of shape {dims:?}, expected 2 dimensions"
                        )));
                    }
                };
                if inputs != width {
                    return Err(refuse(format!(
                        "weights for {inputs} inputs, the chain has {width} values here"
                    )));
                }
                let mut weights = if trans_b {
                    w.values.clone()
                } else {
                    transpose(&w.values, inputs, outputs)
                };
                weights.iter_mut().for_each(|v| *v *= alpha);
                let bias = match node.input.get(2).filter(|n| !n.is_empty()) {
                    Some(_) => {
                        let c = constant_input(2)?;
                        let mut bias = broadcast(c, outputs).ok_or_else(|| {
                            refuse(format!("bias of shape {:?} for {outputs} outputs", c.dims))
                        })?;
                        bias.iter_mut().for_each(|v| *v *= beta);
                        bias
                    }
                    None => vec![0.0; outputs],
                };
                chain.dense(outputs, weights, Some(bias)).map_err(refuse)?;
            }
            "MatMul" => {
                let w = constant_input(1)?;
                let [inputs, outputs] = w.dims.as_slice() else {
                    return Err(refuse(format!(
                        "weights of shape {:?}, expected [inputs, outputs]",
                        w.dims
                    )));
                };
                if *inputs != width {
                    return Err(refuse(format!(
                        "weights for {inputs} inputs, the chain has {width} values here"
                    )));
                }
                chain
                    .dense(*outputs, transpose(&w.values, *inputs, *outputs), None)
                    .map_err(refuse)?;
            }
            "Add" if chain.awaits_bias() => {
                let c = constant_input(1 - at_chain)?;
                let bias = broadcast(c, width)
                    .ok_or_else(|| refuse(format!("bias of shape {:?} for {width} outputs", c.dims)))?;
                chain.bias(bias).map_err(refuse)?;
            }
            op @ ("Sub" | "Div" | "Mul" | "Add") => {
                let c = constant_input(1 - at_chain)?;
                let c = broadcast(c, width).ok_or_else(|| {
                    refuse(format!("a constant of shape {:?} for {width} features", c.dims))
                })?;
                let op = match (op, at_chain) {
                    ("Sub", 0) => Arithmetic::Sub,
                    ("Sub", _) => {
                        // c - x = -x + c.
                        chain.normalize(Arithmetic::Mul, &[-1.0]).map_err(refuse)?;
                        Arithmetic::Add
                    }
                    ("Add", _) => Arithmetic::Add,
                    ("Mul", _) => Arithmetic::Mul,
                    _ => Arithmetic::Div,
                };
                chain.normalize(op, &c).map_err(refuse)?;
            }
            op @ ("Relu" | "LeakyRelu" | "Sigmoid" | "Tanh" | "Softmax") => {
                let activation = match op {
                    "Relu" => Activation::Relu,
                    "LeakyRelu" => {
                        let alpha = float_of(node, "alpha", 0.01);
                        check_leaky_slope(alpha).map_err(refuse)?;
                        Activation::LeakyRelu
                    }
                    "Sigmoid" => Activation::Sigmoid,
                    "Tanh" => Activation::Tanh,
                    _ => {
                        let axis = int_of(node, "axis", if opset >= 13 { -1 } else { 1 });
                        if axis != -1 && axis != 1 {
                            return Err(refuse(format!(
                                "softmax over axis {axis}: import reads softmax over the features (axis 1 or -1)"
                            )));
                        }
                        Activation::Softmax
                    }
                };
                chain.activate(activation).map_err(refuse)?;
            }
            "Identity" | "Dropout" => {}
            "Flatten" => {
                let axis = int_of(node, "axis", 1);
                if axis != 1 {
                    return Err(refuse(format!(
                        "axis {axis}: import reads Flatten of one sample's features (axis 1)"
                    )));
                }
            }
            "Reshape" => {
                let shape = constant_input(1)?;
                let keeps = match shape.values.as_slice() {
                    [_, f] | [f] => *f as i64 == width as i64 || *f == -1.0,
                    _ => false,
                };
                if !keeps {
                    return Err(refuse(format!(
                        "to shape {:?}: import reads reshapes that keep one sample's {width} features",
                        shape.values
                    )));
                }
            }
            other => return Err(refuse(unsupported(other))),
        }
        current = output;
    }
    let last = graph.output.first().map(|o| o.name.as_str());
    if graph.output.len() != 1 || last != Some(current.as_str()) {
        return Err(ImportError(format!(
            "the graph's output ({}) is not the end of the chain ('{current}'): import reads one chain to one output",
            graph
                .output
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let name = if graph.name.is_empty() {
        model.producer_name.clone()
    } else {
        graph.name.clone()
    };
    let producer = format!("{} {}", model.producer_name, model.producer_version)
        .trim()
        .to_owned();
    chain.finish(name, producer)
}

/// The operators [`import`] reads.
const SUPPORTED: [&str; 16] = [
    "Constant",
    "Gemm",
    "MatMul",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Relu",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Identity",
    "Dropout",
    "Flatten",
    "Reshape",
];

/// What to say about operator `op`.
fn unsupported(op: &str) -> String {
    format!(
        "operator {op} is not supported: import reads Gemm, MatMul + Add, Relu, LeakyRelu (slope 0.01), Sigmoid, \
         Tanh, Softmax, Identity, Dropout, Flatten, Reshape, and Sub/Div/Mul/Add by constants before the first \
         layer (convolutions, pooling, normalization layers and recurrent layers are not dense chains)"
    )
}

/// Refuses a graph with an operator import does not read, naming a layer's operator (a
/// convolution, say) before the shape arithmetic around it.
fn check_operators(graph: &GraphProto) -> Result<(), ImportError> {
    let foreign: Vec<&NodeProto> = graph
        .node
        .iter()
        .filter(|n| !SUPPORTED.contains(&n.op_type.as_str()))
        .collect();
    let is_layer = |n: &&&NodeProto| {
        [
            "Conv",
            "ConvTranspose",
            "LSTM",
            "GRU",
            "RNN",
            "MaxPool",
            "AveragePool",
            "BatchNormalization",
            "Attention",
        ]
        .iter()
        .any(|l| n.op_type.starts_with(l))
    };
    match foreign.iter().find(is_layer).or(foreign.first()) {
        Some(node) => Err(ImportError(format!(
            "node {} '{}': {}",
            node.op_type,
            node.name,
            unsupported(&node.op_type)
        ))),
        None => Ok(()),
    }
}

fn attribute<'n>(node: &'n NodeProto, name: &str) -> Option<&'n AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn int_of(node: &NodeProto, name: &str, default: i64) -> i64 {
    attribute(node, name).map_or(default, |a| a.i)
}

fn float_of(node: &NodeProto, name: &str, default: f32) -> f32 {
    attribute(node, name).map_or(default, |a| a.f)
}

/// `constant` as `n` values: `n` of them (any shape of that many, e.g. `[n]` or `[1, n]`), or
/// one repeated.
fn broadcast(constant: &Constant, n: usize) -> Option<Vec<f32>> {
    match constant.values.len() {
        len if len == n => Some(constant.values.clone()),
        1 => Some(vec![constant.values[0]; n]),
        _ => None,
    }
}

/// The number of features of the graph's input: its last dimension (`[batch, features]` or
/// `[features]`).
fn features_of(input: &ValueInfoProto) -> Result<usize, ImportError> {
    let dims = input
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .and_then(|t| t.shape.as_ref())
        .map(|s| s.dim.as_slice())
        .unwrap_or_default();
    let bad = || {
        ImportError(format!(
            "input '{}': expected a shape [batch, features] or [features] with a fixed number of features",
            input.name
        ))
    };
    let features = match dims {
        [_, f] | [f] => f.dim_value,
        _ => return Err(bad()),
    };
    usize::try_from(features)
        .ok()
        .filter(|&f| f > 0 && f <= usize::from(u16::MAX))
        .ok_or_else(bad)
}

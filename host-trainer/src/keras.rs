//! Keras models, as Keras saves them: Keras 3's `.keras` (a zip of `config.json` and
//! `model.weights.h5`) and the legacy `.h5` (Keras 2's format, which Keras 3 still writes:
//! the configuration in the root's `model_config` attribute, the weights under
//! `model_weights/`), read with the `zip` and `hdf5-pure` crates (pure Rust, no libhdf5).
//!
//! A Sequential or Functional model that is one chain of layers: `InputLayer`; `Dense`
//! (linear, relu, sigmoid, tanh, softmax); `Activation`, `ReLU`, `LeakyReLU` (slope 0.01,
//! nn-core's), `Softmax` folded into the `Dense` before them; `Dropout`, `GaussianNoise`,
//! `GaussianDropout`, `ActivityRegularization` and `Flatten` as the no-ops they are at
//! inference; `Normalization` and `Rescaling` before the first `Dense` as the weight file's
//! normalization. Anything else is refused with the layer's class, its name and what is
//! supported.

use std::collections::HashMap;
use std::io::Read;

use nn_core::Activation;
use serde_json::Value;

use crate::imported::{Arithmetic, Chain, ImportError, Imported, check_leaky_slope, transpose};

/// Keras' `epsilon()`, below which `Normalization` does not divide.
const KERAS_EPSILON: f32 = 1e-7;

/// A tensor of the weights file: its shape and values.
type Tensor = (Vec<usize>, Vec<f32>);

/// Where a model's weights are: a layer's tensors, in Keras' order (kernel, bias; mean,
/// variance, count).
trait Weights {
    /// The tensors of the layer named `name` that is the `nth` of its class in the model
    /// (from 0), each with its shape.
    fn of(&self, class: &str, name: &str, nth: usize) -> Result<Vec<Tensor>, ImportError>;
}

/// Reads a Keras 3 `.keras` file.
///
/// # Errors
/// [`ImportError`] for a damaged archive, or a model that is not a chain of supported
/// layers (naming the layer).
pub fn import_keras(bytes: &[u8]) -> Result<Imported, ImportError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| ImportError(format!("not a readable .keras archive ({e})")))?;
    let mut read = |name: &str| -> Result<Vec<u8>, ImportError> {
        let mut entry = archive
            .by_name(name)
            .map_err(|_| ImportError(format!("the archive has no {name}: not a Keras 3 model")))?;
        let mut out = Vec::new();
        entry
            .read_to_end(&mut out)
            .map_err(|e| ImportError(format!("{name} in the archive: {e}")))?;
        Ok(out)
    };
    let config: Value = serde_json::from_slice(&read("config.json")?)
        .map_err(|e| ImportError(format!("config.json: {e}")))?;
    let version = read("metadata.json")
        .ok()
        .and_then(|m| serde_json::from_slice::<Value>(&m).ok())
        .and_then(|m| m["keras_version"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let weights = hdf5(read("model.weights.h5")?)?;
    build(&config, &Keras3Weights(weights), format!("keras {version}"))
}

/// Reads a legacy Keras `.h5` file (Keras 2, or Keras 3's `model.save("x.h5")`).
///
/// # Errors
/// As [`import_keras`].
pub fn import_h5(bytes: &[u8]) -> Result<Imported, ImportError> {
    let file = hdf5(bytes.to_vec())?;
    let attrs = file
        .root()
        .attrs()
        .map_err(|e| ImportError(format!("the HDF5 file's attributes: {e}")))?;
    let text = |key: &str| attrs.get(key).and_then(attr_string);
    let config = text("model_config").ok_or_else(|| {
        ImportError(
            "no model_config attribute: a weights-only .h5 file (save the whole model, model.save)".into(),
        )
    })?;
    let config: Value =
        serde_json::from_str(&config).map_err(|e| ImportError(format!("model_config: {e}")))?;
    let version = text("keras_version").unwrap_or_default();
    build(&config, &LegacyWeights(file), format!("keras {version}"))
}

fn hdf5(bytes: Vec<u8>) -> Result<hdf5_pure::File, ImportError> {
    hdf5_pure::File::from_bytes(bytes).map_err(|e| ImportError(format!("not a readable HDF5 file ({e})")))
}

/// A string attribute's text.
fn attr_string(value: &hdf5_pure::AttrValue) -> Option<String> {
    match value {
        hdf5_pure::AttrValue::String(s)
        | hdf5_pure::AttrValue::AsciiString(s)
        | hdf5_pure::AttrValue::VarLenString(s)
        | hdf5_pure::AttrValue::VarLenAsciiString(s)
        | hdf5_pure::AttrValue::StringSized { value: s, .. }
        | hdf5_pure::AttrValue::AsciiStringSized { value: s, .. } => Some(s.clone()),
        _ => None,
    }
}

/// A string-array attribute's texts.
fn attr_strings(value: &hdf5_pure::AttrValue) -> Option<Vec<String>> {
    match value {
        hdf5_pure::AttrValue::StringArray(v)
        | hdf5_pure::AttrValue::AsciiStringArray(v)
        | hdf5_pure::AttrValue::VarLenStringArray(v)
        | hdf5_pure::AttrValue::VarLenAsciiStringArray(v)
        | hdf5_pure::AttrValue::VarLenAsciiCharArray(v)
        | hdf5_pure::AttrValue::StringArraySized { values: v, .. }
        | hdf5_pure::AttrValue::AsciiStringArraySized { values: v, .. } => Some(v.clone()),
        other => attr_string(other).map(|s| vec![s]),
    }
}

/// A dataset's shape and values as f32.
fn dataset(file: &hdf5_pure::File, path: &str) -> Result<Tensor, ImportError> {
    let bad = |e: String| ImportError(format!("weights {path}: {e}"));
    let ds = file.dataset(path).map_err(|e| bad(e.to_string()))?;
    let shape: Vec<usize> = ds
        .shape()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(|&d| usize::try_from(d).unwrap_or(usize::MAX))
        .collect();
    let values = match ds.read_f32() {
        Ok(v) => v,
        Err(_) => ds
            .read_f64()
            .map_err(|e| bad(e.to_string()))?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
    };
    Ok((shape, values))
}

/// Keras 3's weights file: `layers/<key>/vars/<i>`, the key being the layer's class in
/// snake case, with `_<n>` for the n-th of its class after the first (not its name).
struct Keras3Weights(hdf5_pure::File);

impl Weights for Keras3Weights {
    fn of(&self, class: &str, _name: &str, nth: usize) -> Result<Vec<Tensor>, ImportError> {
        let key = match nth {
            0 => snake_case(class),
            n => format!("{}_{n}", snake_case(class)),
        };
        let group = format!("layers/{key}/vars");
        let names = self
            .0
            .group(&group)
            .and_then(|g| g.datasets())
            .map_err(|e| ImportError(format!("weights {group}: {e}")))?;
        let mut indices: Vec<usize> = names.iter().filter_map(|n| n.parse().ok()).collect();
        indices.sort_unstable();
        indices
            .iter()
            .map(|i| dataset(&self.0, &format!("{group}/{i}")))
            .collect()
    }
}

/// The legacy file's weights: `model_weights/<name>/<weight name>`, in the order of the
/// group's `weight_names` attribute.
struct LegacyWeights(hdf5_pure::File);

impl Weights for LegacyWeights {
    fn of(&self, _class: &str, name: &str, _nth: usize) -> Result<Vec<Tensor>, ImportError> {
        let group = format!("model_weights/{name}");
        let attrs = self
            .0
            .group(&group)
            .and_then(|g| g.attrs())
            .map_err(|e| ImportError(format!("weights {group}: {e}")))?;
        let names = attrs
            .get("weight_names")
            .and_then(attr_strings)
            .unwrap_or_default();
        names
            .iter()
            .map(|w| dataset(&self.0, &format!("{group}/{w}")))
            .collect()
    }
}

/// Keras' `to_snake_case` for a class name: `InputLayer` -> `input_layer`, `Dense` ->
/// `dense`, `BatchNormalization` -> `batch_normalization`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p));
        let next = chars.get(i + 1);
        let starts_word = c.is_uppercase()
            && prev.is_some()
            && (prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                || next.is_some_and(|n| n.is_lowercase()));
        if starts_word {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The layers of a model's configuration, checked to be one chain.
fn chain_layers(config: &Value) -> Result<Vec<&Value>, ImportError> {
    let class = config["class_name"].as_str().unwrap_or_default();
    let layers = config["config"]["layers"]
        .as_array()
        .ok_or_else(|| ImportError(format!("a {class} model without a list of layers")))?;
    match class {
        "Sequential" => Ok(layers.iter().collect()),
        "Functional" | "Model" => {
            // Each layer takes exactly the one before it.
            for pair in layers.windows(2) {
                let (before, layer) = (&pair[0], &pair[1]);
                let inputs = inbound_names(layer);
                let name = layer["config"]["name"].as_str().unwrap_or_default();
                let expected = before["config"]["name"].as_str().unwrap_or_default();
                if inputs != [expected] {
                    return Err(ImportError(format!(
                        "layer {} '{name}' takes {}: import reads models that are one chain of layers \
                         (no branches, skips or shared layers)",
                        layer["class_name"].as_str().unwrap_or_default(),
                        if inputs.is_empty() {
                            "no input".into()
                        } else {
                            format!("'{}'", inputs.join("', '"))
                        }
                    )));
                }
            }
            Ok(layers.iter().collect())
        }
        other => Err(ImportError(format!(
            "a model of class '{other}': import reads Sequential and Functional models (a subclassed model has \
             no configuration to read: rebuild it as Sequential)"
        ))),
    }
}

/// The layer names a Functional model's layer takes, in Keras 3's form
/// (`{"args": [{"config": {"keras_history": [name, ...]}}]}`) or Keras 2's
/// (`[[[name, 0, 0, {}]]]`).
fn inbound_names(layer: &Value) -> Vec<String> {
    let mut names = Vec::new();
    let nodes = layer["inbound_nodes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if nodes.len() > 1 {
        // A layer called twice (shared): not one chain.
        return vec!["(more than one call)".into()];
    }
    fn walk(value: &Value, names: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(history) = map.get("keras_history").and_then(Value::as_array) {
                    if let Some(name) = history.first().and_then(Value::as_str) {
                        names.push(name.to_owned());
                    }
                    return;
                }
                map.values().for_each(|v| walk(v, names));
            }
            Value::Array(items) => {
                // Keras 2: [name, node index, tensor index, kwargs].
                if let (Some(Value::String(name)), Some(Value::Number(_))) = (items.first(), items.get(1)) {
                    names.push(name.clone());
                    return;
                }
                items.iter().for_each(|v| walk(v, names));
            }
            _ => {}
        }
    }
    for node in nodes {
        walk(node, &mut names);
    }
    names
}

/// The name of a layer's `activation` setting: a string (`"relu"`), or a serialized
/// function (`{"class_name": "function", "config": "relu"}`); `None` when it is absent, and
/// `Some("")` (refused as unknown) when it is something else, e.g. a custom object.
fn activation_name(value: &Value) -> Option<&str> {
    match value {
        Value::Null => None,
        Value::String(name) => Some(name),
        other => Some(other["config"].as_str().unwrap_or_default()),
    }
}

/// The activation of a Keras activation name.
fn activation_of(name: &str, layer: &str) -> Result<Activation, ImportError> {
    match name {
        "linear" => Ok(Activation::Identity),
        "relu" => Ok(Activation::Relu),
        "sigmoid" => Ok(Activation::Sigmoid),
        "tanh" => Ok(Activation::Tanh),
        "softmax" => Ok(Activation::Softmax),
        "leaky_relu" => Err(ImportError(format!(
            "{layer}: activation leaky_relu has Keras' slope 0.2, nn-core's leaky ReLU 0.01: use a \
             LeakyReLU(negative_slope=0.01) layer"
        ))),
        other => Err(ImportError(format!(
            "{layer}: activation '{other}' is not supported (linear, relu, sigmoid, tanh, softmax; leaky ReLU as \
             a LeakyReLU layer of slope 0.01)"
        ))),
    }
}

/// The number of features of the model's input and whether it is one vector: the
/// `InputLayer`'s `batch_shape` (Keras 3) or `batch_input_shape` (Keras 2), or the first
/// layer's.
fn input_shape(layers: &[&Value]) -> Result<Vec<usize>, ImportError> {
    let shape = layers.iter().find_map(|l| {
        let c = &l["config"];
        c.get("batch_shape")
            .or_else(|| c.get("batch_input_shape"))
            .and_then(Value::as_array)
    });
    let dims: Option<Vec<usize>> =
        shape.and_then(|s| s.iter().skip(1).map(|d| d.as_u64().map(|d| d as usize)).collect());
    match dims {
        Some(d) if !d.is_empty() && d.iter().all(|&n| n > 0) => Ok(d),
        _ => Err(ImportError(
            "the model's input shape is not in its configuration (give the model a keras.Input((features,)))"
                .into(),
        )),
    }
}

/// The network of `config`'s layers, their weights from `weights`.
fn build(config: &Value, weights: &dyn Weights, producer: String) -> Result<Imported, ImportError> {
    let layers = chain_layers(config)?;
    let dims = input_shape(&layers)?;
    let features: usize = dims.iter().product();
    let mut flat = dims.len() == 1;
    let mut chain = Chain::new(features);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for layer in &layers {
        let class = layer["class_name"].as_str().unwrap_or_default();
        let c = &layer["config"];
        let name = c["name"].as_str().unwrap_or_default();
        let nth = {
            let count = seen.entry(class.to_owned()).or_insert(0);
            *count += 1;
            *count - 1
        };
        let at = format!("layer {class} '{name}'");
        let refuse = |what: String| ImportError(format!("{at}: {what}"));
        match class {
            "InputLayer"
            | "Dropout"
            | "GaussianNoise"
            | "GaussianDropout"
            | "ActivityRegularization"
            | "SpatialDropout1D"
            | "AlphaDropout" => {}
            "Flatten" => flat = true,
            "Dense" => {
                if !flat {
                    return Err(refuse(format!(
                        "a Dense layer on an input of shape {dims:?}: put a Flatten before it (import reads dense \
                         layers on one vector)"
                    )));
                }
                let units = c["units"].as_u64().ok_or_else(|| refuse("no units".into()))? as usize;
                let tensors = weights.of(class, name, nth)?;
                let use_bias = c["use_bias"].as_bool().unwrap_or(true);
                let kernel = tensors
                    .first()
                    .ok_or_else(|| refuse("no kernel in the weights".into()))?;
                let inputs = chain.width();
                if kernel.0 != [inputs, units] {
                    return Err(refuse(format!(
                        "a kernel of shape {:?}, expected [{inputs}, {units}]",
                        kernel.0
                    )));
                }
                let bias = if use_bias {
                    let b = tensors
                        .get(1)
                        .ok_or_else(|| refuse("no bias in the weights".into()))?;
                    b.1.clone()
                } else {
                    vec![0.0; units]
                };
                chain
                    .dense(units, transpose(&kernel.1, inputs, units), Some(bias))
                    .map_err(refuse)?;
                let activation = activation_of(activation_name(&c["activation"]).unwrap_or("linear"), &at)?;
                if activation != Activation::Identity {
                    chain.activate(activation).map_err(refuse)?;
                }
            }
            "Activation" => {
                let activation = activation_of(activation_name(&c["activation"]).unwrap_or_default(), &at)?;
                chain.activate(activation).map_err(refuse)?;
            }
            "ReLU" => {
                let plain = c["max_value"].is_null()
                    && c["negative_slope"].as_f64().unwrap_or(0.0) == 0.0
                    && c["threshold"].as_f64().unwrap_or(0.0) == 0.0;
                if !plain {
                    return Err(refuse(
                        "a ReLU with max_value, negative_slope or threshold set".into(),
                    ));
                }
                chain.activate(Activation::Relu).map_err(refuse)?;
            }
            "LeakyReLU" => {
                let slope = c
                    .get("negative_slope")
                    .or_else(|| c.get("alpha"))
                    .and_then(Value::as_f64)
                    .unwrap_or(0.3);
                check_leaky_slope(slope as f32).map_err(refuse)?;
                chain.activate(Activation::LeakyRelu).map_err(refuse)?;
            }
            "Softmax" => {
                let axis = c["axis"].as_i64().unwrap_or(-1);
                if axis != -1 && axis != 1 {
                    return Err(refuse(format!(
                        "softmax over axis {axis} (import reads it over the features)"
                    )));
                }
                chain.activate(Activation::Softmax).map_err(refuse)?;
            }
            "Normalization" => {
                if c["invert"].as_bool() == Some(true) {
                    return Err(refuse(
                        "an inverted Normalization (it undoes one: only at an output)".into(),
                    ));
                }
                let (mean, variance) = match (numbers(&c["mean"]), numbers(&c["variance"])) {
                    (Some(m), Some(v)) => (m, v),
                    _ => {
                        let tensors = weights.of(class, name, nth)?;
                        match tensors.as_slice() {
                            [m, v, ..] => (m.1.clone(), v.1.clone()),
                            _ => return Err(refuse("no mean and variance in the weights".into())),
                        }
                    }
                };
                chain.normalize(Arithmetic::Sub, &mean).map_err(refuse)?;
                let deviation: Vec<f32> = variance.iter().map(|v| v.sqrt().max(KERAS_EPSILON)).collect();
                chain.normalize(Arithmetic::Div, &deviation).map_err(refuse)?;
            }
            "Rescaling" => {
                let scale = numbers(&c["scale"]).ok_or_else(|| refuse("no scale".into()))?;
                let offset = numbers(&c["offset"]).unwrap_or_else(|| vec![0.0]);
                chain.normalize(Arithmetic::Mul, &scale).map_err(refuse)?;
                chain.normalize(Arithmetic::Add, &offset).map_err(refuse)?;
            }
            other => {
                return Err(refuse(format!(
                    "{other} is not supported: import reads Dense (linear, relu, sigmoid, tanh, softmax), Activation, \
                     ReLU, LeakyReLU (slope 0.01), Softmax, Dropout, Flatten, and Normalization or Rescaling before \
                     the first Dense (convolutions, pooling, BatchNormalization and recurrent layers are not \
                     dense chains)"
                )));
            }
        }
    }
    let name = config["config"]["name"].as_str().unwrap_or_default().to_owned();
    chain.finish(name, producer)
}

/// A number or a list of numbers of the configuration, as f32.
fn numbers(value: &Value) -> Option<Vec<f32>> {
    match value {
        Value::Number(n) => n.as_f64().map(|v| vec![v as f32]),
        Value::Array(items) => items.iter().map(|v| v.as_f64().map(|v| v as f32)).collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{activation_name, snake_case};
    use serde_json::json;

    #[test]
    fn activations_are_read_as_strings_or_serialized_functions_never_guessed() {
        assert_eq!(activation_name(&json!("tanh")), Some("tanh"));
        assert_eq!(
            activation_name(&json!({"class_name": "function", "config": "relu"})),
            Some("relu")
        );
        assert_eq!(activation_name(&json!(null)), None);
        // A custom activation object is not taken for linear: its name is empty, refused.
        assert_eq!(
            activation_name(&json!({"class_name": "MyActivation", "config": {}})),
            Some("")
        );
        assert!(super::activation_of("", "layer Dense 'd'").is_err());
    }

    #[test]
    fn class_names_become_keras_keys() {
        assert_eq!(snake_case("Dense"), "dense");
        assert_eq!(snake_case("InputLayer"), "input_layer");
        assert_eq!(snake_case("BatchNormalization"), "batch_normalization");
        assert_eq!(snake_case("Normalization"), "normalization");
    }
}

//! Export: the weight file and its companions, written atomically.

use std::path::{Path, PathBuf};

use nn_core::{LayerView, Metadata, NormalizationParams};

use crate::data::{Dataset, Scaling};
use crate::error::Error;
use crate::network::{DynNetwork, Predictor};
use crate::quantize::QNetwork;

/// Test vectors for the weight file: raw inputs and nn-core's outputs for them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Golden {
    /// Raw inputs (before normalization), one sample after another.
    pub inputs: Vec<f32>,
    /// nn-core's outputs for them, one sample after another.
    pub outputs: Vec<f32>,
}

impl Golden {
    /// `count` samples of `raw` (un-normalized features), spread across its classes or its
    /// targets' range ([`Dataset::spread_indices`], drawn with `seed`), with the outputs
    /// nn-core's forward gives for them after `scaling`.
    pub fn from_samples(
        net: &dyn LayerView,
        scaling: Option<&Scaling>,
        raw: &Dataset,
        count: usize,
        seed: u64,
    ) -> Golden {
        let mut predictor = Predictor::new(net);
        Golden::from_samples_with(scaling, raw, count, seed, |x| predictor.predict(net, x).to_vec())
    }

    /// As [`Golden::from_samples`], with the outputs `predict` gives for the samples after
    /// `scaling` (e.g. nn-core's int8 forward).
    pub fn from_samples_with(
        scaling: Option<&Scaling>,
        raw: &Dataset,
        count: usize,
        seed: u64,
        mut predict: impl FnMut(&[f32]) -> Vec<f32>,
    ) -> Golden {
        let mut golden = Golden::default();
        for i in raw.spread_indices(count, &mut crate::Rng::new(seed)) {
            let mut x = raw.x(i).to_vec();
            if let Some(scaling) = scaling {
                scaling.apply_row(&mut x);
            }
            golden.inputs.extend_from_slice(raw.x(i));
            golden.outputs.extend_from_slice(&predict(&x));
        }
        golden
    }

    /// The vectors as CSV: the feature columns, then `output_0`, `output_1`, ...
    pub fn to_csv(&self, feature_names: &[String], outputs: usize) -> String {
        let mut csv = feature_names.join(",");
        for o in 0..outputs {
            csv.push_str(&format!(",output_{o}"));
        }
        csv.push('\n');
        let n_in = feature_names.len().max(1);
        for (x, y) in self.inputs.chunks(n_in).zip(self.outputs.chunks(outputs.max(1))) {
            let row: Vec<String> = x.iter().chain(y).map(|v| format!("{v:?}")).collect();
            csv.push_str(&row.join(","));
            csv.push('\n');
        }
        csv
    }
}

/// The names a weight file stores (format version 3): the input columns in input order,
/// the target column, and the class names of a classifier trained on named labels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelNames {
    /// One per input.
    pub inputs: Vec<String>,
    /// The target column.
    pub target: String,
    /// Class by class (empty for numbered classes and regression).
    pub classes: Vec<String>,
}

impl ModelNames {
    /// The names of `data`'s features and classes, with `target`.
    pub fn of(data: &Dataset, target: &str) -> ModelNames {
        ModelNames {
            inputs: data.feature_names.clone(),
            target: target.to_owned(),
            classes: data.class_names.clone(),
        }
    }
}

/// The weight file of `net` with its name, normalization, test vectors and names.
///
/// # Errors
/// [`Error::WeightFile`] for a network or metadata no file may hold (e.g. NaN weights).
pub fn encode_model(
    net: &DynNetwork,
    name: &str,
    scaling: Option<&Scaling>,
    golden: &Golden,
    names: Option<&ModelNames>,
    path: &Path,
) -> Result<Vec<u8>, Error> {
    let strings = names.map(NameStrings::of);
    encode_with(
        &metadata(name, scaling, golden, strings.as_ref()),
        path,
        |meta| nn_core::encoded_len(net, meta),
        |meta, out| nn_core::encode(net, meta, out),
    )
}

/// [`ModelNames`] as the `&str` slices nn-core's encoder takes.
struct NameStrings<'a> {
    inputs: Vec<&'a str>,
    target: &'a str,
    classes: Vec<&'a str>,
}

impl<'a> NameStrings<'a> {
    fn of(names: &'a ModelNames) -> NameStrings<'a> {
        NameStrings {
            inputs: names.inputs.iter().map(String::as_str).collect(),
            target: &names.target,
            classes: names.classes.iter().map(String::as_str).collect(),
        }
    }
}

/// The int8 weight file of `qnet` with its name, normalization and test vectors.
///
/// # Errors
/// [`Error::WeightFile`] for a network or metadata no file may hold.
pub fn encode_int8_model(
    qnet: &QNetwork,
    name: &str,
    scaling: Option<&Scaling>,
    golden: &Golden,
    names: Option<&ModelNames>,
    path: &Path,
) -> Result<Vec<u8>, Error> {
    encode_int8_file(&qnet.model(), name, scaling, golden, names, path)
}

/// The int8 weight file of `model` (either arithmetic; a normalization only for nn-core's)
/// with its name, test vectors and names.
///
/// # Errors
/// [`Error::WeightFile`] for a network or metadata no file may hold.
pub fn encode_int8_file(
    model: &nn_core::Int8Model<'_>,
    name: &str,
    scaling: Option<&Scaling>,
    golden: &Golden,
    names: Option<&ModelNames>,
    path: &Path,
) -> Result<Vec<u8>, Error> {
    let strings = names.map(NameStrings::of);
    encode_with(
        &metadata(name, scaling, golden, strings.as_ref()),
        path,
        |meta| nn_core::encoded_len_int8(model, meta),
        |meta, out| nn_core::encode_int8(model, meta, out),
    )
}

/// A file of `len(meta)` bytes written by `write`; errors name `path`.
fn encode_with(
    meta: &Metadata<'_>,
    path: &Path,
    len: impl FnOnce(&Metadata<'_>) -> Result<usize, nn_core::Error>,
    write: impl FnOnce(&Metadata<'_>, &mut [u8]) -> Result<usize, nn_core::Error>,
) -> Result<Vec<u8>, Error> {
    let error = |error| Error::weight_file(path, error);
    let mut bytes = vec![0; len(meta).map_err(error)?];
    write(meta, &mut bytes).map_err(error)?;
    Ok(bytes)
}

fn metadata<'a>(
    name: &'a str,
    scaling: Option<&'a Scaling>,
    golden: &'a Golden,
    names: Option<&'a NameStrings<'a>>,
) -> Metadata<'a> {
    Metadata {
        name,
        normalization: scaling.map(|s| NormalizationParams {
            offset: &s.offset,
            scale: &s.scale,
        }),
        test_inputs: &golden.inputs,
        test_outputs: &golden.outputs,
        names: names.map(|n| nn_core::NamesSpec {
            inputs: &n.inputs,
            target: n.target,
            classes: &n.classes,
        }),
    }
}

/// `MODEL.nnw` with its extension replaced by `suffix`: `sibling("m.nnw", "loss.svg")` is `m.loss.svg`.
pub fn sibling(model: &Path, suffix: &str) -> PathBuf {
    model.with_extension(suffix)
}

/// The Rust declaration of a network for the firmware, a type named after the file
/// (`digits-int8.nnw`: `DigitsInt8`), so that several can be used side by side.
pub fn rust_declaration(net: &DynNetwork, model: &Path) -> String {
    let layers = net.layer_list().map(|l| l.to_string()).unwrap_or_default();
    let params = net.params().len();
    let stem = model.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
    format!(
        "// Generated by host-trainer for {}.\n/// Layers {layers} ({params} parameters).\npub type {} = {};\n",
        model.display(),
        type_name(&stem),
        net.rust_type()
    )
}

/// A Rust type name for a model named `stem`: its words capitalised and joined
/// (`digits-int8`: `DigitsInt8`); `Model` before one that would not start with a letter.
pub fn type_name(stem: &str) -> String {
    let words = stem.split(|c: char| !c.is_ascii_alphanumeric());
    let name: String = words
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name
    } else {
        format!("Model{name}")
    }
}

pub use crate::output::write_all_atomically;

//! `host-trainer import` (a model trained elsewhere into a weight file) and `host-trainer
//! export` (a weight file into ONNX).

use std::path::{Path, PathBuf};

use nn_core::{LayerView, Loss};

use super::{load_model, model_name, print_metrics, training_columns};
use crate::data::{Dataset, Scaling, Table, Task};
use crate::error::{DataError, Error};
use crate::export::{self, Golden, ModelNames};
use crate::metrics::evaluate;
use crate::network::DynNetwork;
use crate::output;
use crate::rng::Rng;
use crate::tflite::TfliteModel;

/// `import`: a model file from another framework and the weight file to write.
#[derive(Debug, clap::Args)]
pub(super) struct ImportArgs {
    /// The model: Keras 3 (`.keras`), legacy Keras (`.h5`), TensorFlow Lite (`.tflite`, f32, or
    /// int8 into an int8 file of TensorFlow Lite Micro's arithmetic) or ONNX (`.onnx`, as `torch.onnx.export` or tf2onnx write it). Its kind is told by its
    /// content.
    source: PathBuf,
    /// The weight file to write.
    #[arg(long)]
    out: PathBuf,
    /// Model name stored in the file (default: the output file's stem).
    #[arg(long)]
    name: Option<String>,
    /// A CSV file of the model's inputs and target: its rows give the test vectors (across
    /// the classes for a classifier), its column names are stored, and the model's metrics
    /// on it are printed.
    #[arg(long, requires = "target")]
    data: Option<PathBuf>,
    /// The target column of `--data`.
    #[arg(long, requires = "data")]
    target: Option<String>,
    /// Test vectors stored in the file: rows of `--data`, else inputs drawn at random
    /// (standard normal after the model's normalization), seeded.
    #[arg(long, default_value_t = 8, value_parser = super::whole_number, allow_negative_numbers = true)]
    vectors: usize,
    /// Seed of the drawn test vectors.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// An int8 .tflite model's requantization rounding: `double`, as TensorFlow Lite Micro's
    /// default build computes, or `single`, as TFLite built with TFLITE_SINGLE_ROUNDING=1
    /// (TensorFlow's own Python interpreter is) computes. The board gives that build's values
    /// exactly.
    #[arg(long, value_enum, default_value_t = RoundingArg::Double)]
    rounding: RoundingArg,
}

/// `--rounding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum RoundingArg {
    /// TensorFlow Lite Micro's default build.
    Double,
    /// TFLITE_SINGLE_ROUNDING=1, as TensorFlow's Python interpreter.
    Single,
}

impl From<RoundingArg> for nn_core::tflm::Rounding {
    fn from(arg: RoundingArg) -> Self {
        match arg {
            RoundingArg::Double => nn_core::tflm::Rounding::Double,
            RoundingArg::Single => nn_core::tflm::Rounding::Single,
        }
    }
}

/// `export`: a weight file and the format to write it in.
#[derive(Debug, clap::Args)]
pub(super) struct ExportArgs {
    /// The weight file (f32).
    model: PathBuf,
    /// Write it as an ONNX model (opset 13: Gemm and activation nodes, the normalization as
    /// Sub and Mul), for onnxruntime and the usual viewers.
    #[arg(long)]
    onnx: PathBuf,
}

/// What a model file is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    /// A zip archive: a Keras 3 `.keras` file.
    KerasZip,
    /// HDF5: a Keras 2 `.h5` file.
    Hdf5,
    /// A TensorFlow Lite flatbuffer (`TFL3` at byte 4).
    TfLite,
    /// Anything else is read as ONNX (protobuf has no magic number).
    Onnx,
}

fn source_kind(bytes: &[u8]) -> SourceKind {
    if bytes.starts_with(b"PK\x03\x04") {
        SourceKind::KerasZip
    } else if bytes.starts_with(b"\x89HDF\r\n\x1a\n") {
        SourceKind::Hdf5
    } else if bytes.get(4..8) == Some(b"TFL3") {
        SourceKind::TfLite
    } else {
        SourceKind::Onnx
    }
}

pub(super) fn import(args: ImportArgs) -> Result<(), Error> {
    let mut inputs = vec![args.source.as_path()];
    inputs.extend(args.data.as_deref());
    output::check(&inputs, &[&args.out])?;
    let bytes = std::fs::read(&args.source).map_err(|e| DataError::io(&args.source, &e))?;
    let refuse = |message: String| Error::Config(format!("{}: {message}", args.source.display()));
    let imported = match source_kind(&bytes) {
        SourceKind::Onnx => crate::onnx::import(&bytes),
        SourceKind::KerasZip => crate::keras::import_keras(&bytes),
        SourceKind::Hdf5 => crate::keras::import_h5(&bytes),
        SourceKind::TfLite => {
            match crate::tflite::read_with(&bytes, args.rounding.into()).map_err(|e| refuse(e.0))? {
                TfliteModel::F32(imported) => Ok(imported),
                TfliteModel::Int8(imported) => return import_int8(&args, &imported),
            }
        }
    }
    .map_err(|e| refuse(e.0))?;
    let net = imported.net;
    let name = model_name(args.name.as_deref(), &args.out);
    let scaling = imported.scaling;
    let (golden, names, data) = match (&args.data, &args.target) {
        (Some(data), Some(target)) => {
            let (raw, names) = read_for(
                args.vectors,
                net.inputs(),
                net.outputs(),
                net.output_activation(),
                data,
                target,
            )?;
            let golden = Golden::from_samples(&net, scaling.as_ref(), &raw, args.vectors, args.seed);
            (golden, Some(names), Some(raw))
        }
        _ => (
            drawn_vectors(&net, scaling.as_ref(), args.vectors, args.seed),
            None,
            None,
        ),
    };
    let file = export::encode_model(&net, &name, scaling.as_ref(), &golden, names.as_ref(), &args.out)?;
    let file_len = file.len();
    export::write_all_atomically(&[(args.out.clone(), file)])?;
    println!(
        "{} -> {} ({}, {} bytes, {} test vectors{})",
        source_line(&args.source, &imported.producer, &imported.name),
        args.out.display(),
        net.layer_list().map(|l| l.to_string()).unwrap_or_default(),
        file_len,
        golden.inputs.len() / net.inputs().max(1),
        if scaling.is_some() {
            ", with the model's input normalization"
        } else {
            ""
        }
    );
    if let Some(mut raw) = data {
        if let Some(s) = &scaling {
            s.apply(&mut raw);
        }
        let loss = Task::default_loss(net.output_activation());
        print_metrics("import", &evaluate(&net, &raw, loss));
    }
    Ok(())
}

/// `import` of an int8 TensorFlow Lite model: an int8 file of TensorFlow Lite Micro's
/// arithmetic, its test vectors run through nn-core's int8 forward (rows of `--data`, else
/// inputs drawn across the input tensor's range).
fn import_int8(args: &ImportArgs, imported: &crate::tflite::ImportedInt8) -> Result<(), Error> {
    let model = imported.model();
    let spec = |i: usize| model.layers.get(i).map(|l| l.spec);
    let (first, last) = (spec(0), spec(model.layers.len().saturating_sub(1)));
    let inputs = first.map_or(0, |l| usize::from(l.inputs));
    let outputs = last.map_or(0, |l| usize::from(l.outputs));
    let activation = last.map_or(nn_core::Activation::Identity, |l| l.activation);
    let mut predictor = crate::quantize::QPredictor::new(&model);
    let name = model_name(args.name.as_deref(), &args.out);
    let (golden, names, data) = match (&args.data, &args.target) {
        (Some(data), Some(target)) => {
            let (raw, names) = read_for(args.vectors, inputs, outputs, activation, data, target)?;
            let golden = Golden::from_samples_with(None, &raw, args.vectors, args.seed, |x| {
                predictor.predict(&model, x).to_vec()
            });
            (golden, Some(names), Some(raw))
        }
        _ => {
            let mut rng = Rng::new(args.seed);
            let mut golden = Golden::default();
            for _ in 0..args.vectors {
                let x: Vec<f32> = (0..inputs)
                    .map(|_| model.input.dequantize((rng.below(256) as i32 - 128) as i8))
                    .collect();
                golden.outputs.extend_from_slice(predictor.predict(&model, &x));
                golden.inputs.extend(x);
            }
            (golden, None, None)
        }
    };
    let file = export::encode_int8_file(&model, &name, None, &golden, names.as_ref(), &args.out)?;
    let file_len = file.len();
    export::write_all_atomically(&[(args.out.clone(), file)])?;
    let specs: Vec<nn_core::LayerSpec> = model.layers.iter().map(|l| l.spec).collect();
    let layers = nn_core::LayerList::of(&specs)
        .map(|l| l.to_string())
        .unwrap_or_default();
    println!(
        "{} -> {} (int8 in TensorFlow Lite Micro's arithmetic, {:?} rounding, {layers}, {file_len} bytes, {} test \
         vectors{})",
        source_line(&args.source, &imported.producer, &imported.name),
        args.out.display(),
        model.rounding,
        golden.inputs.len() / inputs.max(1),
        if model.input_tables.is_some() {
            ", the model's input operations as tables"
        } else {
            ""
        }
    );
    if let Some(raw) = data {
        let loss = Task::default_loss(activation);
        let mut forward = crate::quantize::QForward::new(model);
        print_metrics("import", &crate::metrics::evaluate_with(&mut forward, &raw, loss));
    }
    Ok(())
}

/// The source of an import as its report names it: `model.onnx (pytorch 2.15.0, model 'main')`.
fn source_line(source: &Path, producer: &str, name: &str) -> String {
    let name = if name.is_empty() {
        String::new()
    } else {
        format!(", model '{name}'")
    };
    format!("{} ({producer}{name})", source.display())
}

/// The rows of `data` for a network of `inputs` and `outputs` with the output `activation`:
/// the features are every column but `target`, the task from the output layer; and the
/// names to store. Says so if `data` has fewer rows than the `wanted` test vectors.
fn read_for(
    wanted: usize,
    inputs: usize,
    outputs: usize,
    activation: nn_core::Activation,
    data: &Path,
    target: &str,
) -> Result<(Dataset, ModelNames), Error> {
    let table = Table::read_labelled_csv(data, target)?;
    let target_column = table.column(target)?;
    let columns = training_columns(&table, target_column, None)?;
    super::check_feature_count(data, columns.len(), inputs)?;
    let loss: Loss = Task::default_loss(activation);
    let task = Task::for_loss(loss, outputs)?;
    let raw = Dataset::from_columns(&table, &columns, target_column, task, &[])?;
    let names = ModelNames::of(&raw, target);
    super::note_fewer_rows(wanted, data, raw.len());
    Ok((raw, names))
}

/// `count` test vectors whose inputs are standard normal after `scaling` (raw inputs
/// `z / scale + offset`), seeded, with nn-core's outputs for them.
fn drawn_vectors(net: &DynNetwork, scaling: Option<&Scaling>, count: usize, seed: u64) -> Golden {
    let mut rng = Rng::new(seed);
    let mut predictor = crate::network::Predictor::new(net);
    let mut golden = Golden::default();
    for _ in 0..count {
        let normalized: Vec<f32> = (0..net.inputs()).map(|_| rng.normal()).collect();
        let raw: Vec<f32> = match scaling {
            Some(s) => normalized
                .iter()
                .zip(s.offset.iter().zip(&s.scale))
                .map(|(z, (offset, scale))| z / scale + offset)
                .collect(),
            None => normalized.clone(),
        };
        let mut x = raw.clone();
        if let Some(s) = scaling {
            s.apply_row(&mut x);
        }
        golden.inputs.extend_from_slice(&raw);
        golden.outputs.extend_from_slice(predictor.predict(net, &x));
    }
    golden
}

pub(super) fn export_onnx(args: ExportArgs) -> Result<(), Error> {
    output::check(&[&args.model], &[&args.onnx])?;
    let model = load_model(&args.model)?;
    let net = model.f32()?;
    let bytes = crate::onnx::export(net, model.scaling.as_ref(), &model.name);
    let len = bytes.len();
    export::write_all_atomically(&[(args.onnx.clone(), bytes)])?;
    println!(
        "{} ({}) -> {} (ONNX opset {}, {} bytes)",
        args.model.display(),
        net.layer_list().map(|l| l.to_string()).unwrap_or_default(),
        args.onnx.display(),
        crate::onnx::EXPORT_OPSET,
        len
    );
    Ok(())
}

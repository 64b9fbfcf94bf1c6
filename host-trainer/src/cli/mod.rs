//! The `host-trainer` command line.

mod convert;
mod options;
mod search;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use nn_core::{LayerView, Loss, WeightFile};

use crate::data::{Dataset, Scaling, Table, Task};
use crate::error::{DataError, Error};
use crate::export::{self, Golden};
use crate::metrics::{Forward, Metrics, NetForward, evaluate, evaluate_with};
use crate::network::DynNetwork;
use crate::output;
use crate::plot::loss_curve_svg;
use crate::rng::Rng;
use crate::split::Splits;
use crate::synth::Synthetic;
use crate::train::{check_fraction, fit};
use options::FitArgs;

/// Train small dense networks for microcontrollers and export nn-core weight files.
#[derive(Debug, Parser)]
#[command(name = "host-trainer", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a network on a CSV file and write MODEL.nnw (with golden vectors, a loss plot
    /// and the Rust type beside it).
    Train(TrainArgs),
    /// k-fold cross-validation with the options of `train`: each fold held out once
    /// (stratified by class for a classifier, seeded), its metrics printed, then their mean
    /// and standard deviation. Writes nothing.
    Cv(CvArgs),
    /// The best network within a board's budget (instructions per inference, flash, RAM):
    /// depths, widths, hidden activations and int8 against f32, each candidate's cost
    /// predicted by a model calibrated on the emulated boards, those that fit trained and
    /// scored on a validation split two at a time; prints the Pareto front and writes the
    /// best network (with test vectors) and BEST.pareto.svg.
    Search(search::SearchArgs),
    /// A model trained elsewhere into a weight file: Keras (.keras, .h5), TensorFlow Lite
    /// (.tflite, f32) or ONNX (PyTorch's torch.onnx.export, tf2onnx) of a chain of dense
    /// layers, with test vectors from --data or drawn.
    Import(convert::ImportArgs),
    /// A weight file into another format: --onnx OUT.onnx (f32 models).
    Export(convert::ExportArgs),
    /// Metrics of a model on a CSV file (nn-core's forward).
    Eval(EvalArgs),
    /// A model's outputs for every row of a CSV file.
    Predict(PredictArgs),
    /// What a weight file holds: layers, parameters, bytes, version, CRC.
    Inspect(InspectArgs),
    /// Which inputs matter: permutation importance and saliency, ranked, with a bar chart
    /// (MODEL.importance.svg) and, for square images of 16 or more inputs such as the 8x8
    /// digits, a heat map (MODEL.heatmap.svg).
    Explain(ExplainArgs),
    /// Post-training int8 quantization: writes an int8 weight file (model kind int8) with
    /// test vectors from nn-core's int8 forward, and reports f32 against int8.
    Quantize(QuantizeArgs),
    /// Split a CSV file into training and test files (stratified by a class column).
    Split(SplitArgs),
    /// Write a synthetic data set: the tutorial's parabola or TFLM's sine.
    Dataset(DatasetArgs),
    /// Training throughput (samples per second) on the example networks.
    Bench(crate::bench::BenchArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum LossArg {
    Mse,
    Mae,
    BinaryCrossEntropy,
    CrossEntropy,
}

impl From<LossArg> for Loss {
    fn from(loss: LossArg) -> Loss {
        match loss {
            LossArg::Mse => Loss::MeanSquaredError,
            LossArg::Mae => Loss::MeanAbsoluteError,
            LossArg::BinaryCrossEntropy => Loss::BinaryCrossEntropy,
            LossArg::CrossEntropy => Loss::CrossEntropy,
        }
    }
}

/// `train`: the shared options and what is written.
#[derive(Debug, clap::Args)]
struct TrainArgs {
    #[command(flatten)]
    fit: FitArgs,
    #[command(flatten)]
    layers: options::LayersArg,
    /// Number of golden test vectors stored in the file, drawn across the classes (or the
    /// target's range) of the validation split, else of the training data; at most as many
    /// as it has (said when fewer).
    #[arg(long, default_value_t = 8, value_parser = whole_number, allow_negative_numbers = true)]
    golden: usize,
    /// Model name stored in the file (default: the output file's stem).
    #[arg(long)]
    name: Option<String>,
    /// The weight file to write.
    #[arg(long)]
    out: PathBuf,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

/// `cv`: the shared options, the number of folds and how to print.
#[derive(Debug, clap::Args)]
struct CvArgs {
    #[command(flatten)]
    fit: FitArgs,
    #[command(flatten)]
    layers: options::LayersArg,
    /// Folds (at least 2, at most the rows).
    #[arg(long, default_value_t = 5, value_parser = at_least_one, allow_negative_numbers = true)]
    folds: usize,
    /// Print the folds and their means and standard deviations as JSON.
    #[arg(long)]
    json: bool,
    /// Print only the result (no progress lines).
    #[arg(long)]
    quiet: bool,
}

/// A model and a labelled data file to measure it on (`eval`, `explain`).
#[derive(Debug, clap::Args)]
struct LabelledArgs {
    /// The weight file.
    #[arg(long)]
    model: PathBuf,
    /// CSV file with the model's input columns and the target column.
    #[arg(long)]
    data: PathBuf,
    /// The target column.
    #[arg(long)]
    target: String,
    /// Loss (default from the model's last activation).
    #[arg(long, value_enum)]
    loss: Option<LossArg>,
}

#[derive(Debug, clap::Args)]
struct EvalArgs {
    #[command(flatten)]
    labelled: LabelledArgs,
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct PredictArgs {
    /// The weight file.
    #[arg(long)]
    model: PathBuf,
    /// CSV file of inputs.
    #[arg(long)]
    data: PathBuf,
    /// A column to leave out (e.g. the target, if the file has one).
    #[arg(long)]
    target: Option<String>,
    /// Write the outputs here (atomically) instead of to stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct QuantizeArgs {
    /// The f32 weight file.
    #[arg(long)]
    model: PathBuf,
    /// CSV file of calibration samples (e.g. the training data): the input columns and the
    /// target column.
    #[arg(long)]
    calib: PathBuf,
    /// The target column (left out of the inputs; used for the report).
    #[arg(long)]
    target: String,
    /// A held-out CSV file to report on as well.
    #[arg(long)]
    test: Option<PathBuf>,
    /// Where to write the int8 weight file (atomically).
    #[arg(long)]
    out: PathBuf,
    /// Number of test vectors stored in the file (the first calibration samples).
    #[arg(long, default_value_t = 8)]
    vectors: usize,
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct InspectArgs {
    /// The weight file.
    model: PathBuf,
    /// Print the typed Rust declaration of the network.
    #[arg(long)]
    rust: bool,
    /// Say whether the file fits this board of the firmware example: its model flash
    /// region, and the run-time path's capacity and RAM.
    #[arg(long, value_parser = ["mps2-an386", "microbit", "nrf52840"])]
    board: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ExplainArgs {
    #[command(flatten)]
    labelled: LabelledArgs,
    /// Shuffles per feature.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Seed of the shuffles.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// One JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct SplitArgs {
    /// CSV file to split.
    #[arg(long)]
    data: PathBuf,
    /// Class column to stratify by (omit for a plain random split).
    #[arg(long)]
    target: Option<String>,
    /// Share of the rows for the test file.
    #[arg(long, default_value_t = 0.25)]
    test: f32,
    /// Seed of the shuffle.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to write the training rows.
    #[arg(long)]
    train_out: PathBuf,
    /// Where to write the test rows.
    #[arg(long)]
    test_out: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DatasetKind {
    /// x in [0, 1), y = x².
    Square,
    /// x in [0, 2π), y = sin x.
    Sine,
}

#[derive(Debug, clap::Args)]
struct DatasetArgs {
    /// Which data set.
    #[arg(value_enum)]
    kind: DatasetKind,
    /// Number of rows.
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// Standard deviation of Gaussian noise added to y.
    #[arg(long, default_value_t = 0.0)]
    noise: f32,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output CSV file.
    #[arg(long)]
    out: PathBuf,
}

/// Runs the command line; the error is printed by `main`.
///
/// # Errors
/// Any [`Error`] of the command.
pub fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Train(args) => train(args),
        Command::Cv(args) => cv(args),
        Command::Search(args) => search::search(args),
        Command::Import(args) => convert::import(args),
        Command::Export(args) => convert::export_onnx(args),
        Command::Eval(args) => eval(args),
        Command::Predict(args) => predict(args),
        Command::Inspect(args) => inspect(args),
        Command::Explain(args) => explain(args),
        Command::Quantize(args) => quantize(args),
        Command::Split(args) => split(args),
        Command::Dataset(args) => dataset(args),
        Command::Bench(args) => crate::bench::run(&args),
    }
}

/// `--epochs`, `--batch` and the like: a whole number of at least 1, with our own message for
/// anything else (a negative number included).
pub(super) fn at_least_one(text: &str) -> Result<usize, String> {
    text.parse::<usize>()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| format!("expected a whole number of at least 1, not {text}"))
}

/// `--golden` and the like: a whole number (0 or more).
pub(super) fn whole_number(text: &str) -> Result<usize, String> {
    text.parse::<usize>()
        .map_err(|_| format!("expected a whole number (0 or more), not {text}"))
}

/// The input columns of a training table: every column but the target and those `ignore`
/// names (by name or 1-based number). Each must have a name of its own, since the file
/// stores them and every later command matches data by them.
///
/// # Errors
/// [`DataError::ColumnNames`] for an empty or index-like name (`Unnamed: 0`) or a name
/// used twice, saying how to leave it out; [`DataError::UnknownColumn`] for an unknown
/// `--ignore` entry.
pub(super) fn training_columns(
    table: &Table,
    target: usize,
    ignore: Option<&str>,
) -> Result<Vec<usize>, Error> {
    let mut ignored = Vec::new();
    for item in ignore.unwrap_or_default().split(',').filter(|i| !i.is_empty()) {
        let item = item.trim();
        let column = match table.columns.iter().position(|c| c == item) {
            Some(column) => column,
            None => match item.parse::<usize>() {
                Ok(number) if (1..=table.columns.len()).contains(&number) => number - 1,
                _ => table.column(item)?,
            },
        };
        ignored.push(column);
    }
    let columns: Vec<usize> = (0..table.columns.len())
        .filter(|c| *c != target && !ignored.contains(c))
        .collect();
    let name_error = |message: String| -> Error {
        DataError::ColumnNames {
            file: table.path.clone(),
            message,
        }
        .into()
    };
    for &c in columns.iter().chain([&target]) {
        let name = &table.columns[c];
        if name.is_empty() || name.starts_with("Unnamed:") {
            return Err(name_error(format!(
                "column {} has no name ('{name}'), as an index column written by pandas has: \
                 name it, or leave it out with --ignore {}",
                c + 1,
                c + 1
            )));
        }
        let used = columns.iter().chain([&target]);
        if let Some(&other) = used.clone().find(|&&o| o != c && table.columns[o] == *name) {
            return Err(name_error(format!(
                "columns {} and {} are both named '{name}': rename one, or leave one out with --ignore {}",
                c.min(other) + 1,
                c.max(other) + 1,
                c.max(other) + 1
            )));
        }
    }
    if columns.is_empty() {
        return Err(DataError::NoFeatures {
            file: table.path.clone(),
        }
        .into());
    }
    Ok(columns)
}

fn train(args: TrainArgs) -> Result<(), Error> {
    options::check_fit_options(&args.fit)?;
    let sides = ["golden.csv", "loss.svg", "rs"].map(|suffix| export::sibling(&args.out, suffix));
    output::check(&[&args.fit.data], &[&args.out, &sides[0], &sides[1], &sides[2]])?;
    let options::Problem { raw, specs, config } =
        options::read_problem(&args.fit, &args.layers.layers, args.quiet)?;
    let loss = config.loss;
    let mut net = DynNetwork::new(specs)?;
    let names = export::ModelNames::of(&raw, &args.fit.target);
    let mut rng = Rng::new(args.fit.seed);
    let Splits {
        raw_train,
        raw_val,
        scaling,
        train: train_set,
        val: val_set,
    } = Splits::of(&raw, args.fit.val_split, args.fit.normalize, &mut rng);
    net.init(args.fit.init.into(), &mut rng);
    let quiet = args.quiet;
    if !quiet {
        eprintln!(
            "training {} on {} samples ({} for validation): {}",
            net.layer_list().map(|l| l.to_string()).unwrap_or_default(),
            train_set.len(),
            val_set.len(),
            options::describe_training(&config)
        );
    }
    let mut progress = options::Progress::new(config.epochs, quiet);
    let val = (!val_set.is_empty()).then_some(&val_set);
    let history = fit(&mut net, &train_set, val, &config, &mut rng, &mut |r| {
        progress.update(r)
    });
    progress.finish();
    let history = history?;

    let name = model_name(args.name.as_deref(), &args.out);
    let golden_source = if raw_val.is_empty() { &raw_train } else { &raw_val };
    if args.golden > golden_source.len() && !quiet {
        eprintln!(
            "note: {} test vectors stored, not {}: the {} has only {} samples",
            golden_source.len(),
            args.golden,
            if raw_val.is_empty() {
                "training data"
            } else {
                "validation split"
            },
            golden_source.len()
        );
    }
    let golden = Golden::from_samples(&net, scaling.as_ref(), golden_source, args.golden, args.fit.seed);
    let model = export::encode_model(&net, &name, scaling.as_ref(), &golden, Some(&names), &args.out)?;
    let title = format!(
        "{name}: {}",
        net.layer_list().map(|l| l.to_string()).unwrap_or_default()
    );
    let files = [
        (args.out.clone(), model),
        (
            export::sibling(&args.out, "golden.csv"),
            golden.to_csv(&raw.feature_names, net.outputs()).into_bytes(),
        ),
        (
            export::sibling(&args.out, "loss.svg"),
            loss_curve_svg(&title, &history.loss, &history.val_loss, &history.lr).into_bytes(),
        ),
        (
            export::sibling(&args.out, "rs"),
            export::rust_declaration(&net, &args.out).into_bytes(),
        ),
    ];
    export::write_all_atomically(&files)?;
    if !quiet {
        let train_metrics = evaluate(&net, &train_set, loss);
        println!(
            "epochs {} (best {}), {:.0} samples/s",
            history.loss.len(),
            history.best_epoch,
            history.samples_per_second()
        );
        print_metrics("training", &train_metrics);
        if !val_set.is_empty() {
            print_metrics("validation", &evaluate(&net, &val_set, loss));
        }
        for (path, bytes) in &files {
            println!("wrote {} ({} bytes)", path.display(), bytes.len());
        }
    }
    Ok(())
}

fn cv(args: CvArgs) -> Result<(), Error> {
    options::check_fit_options(&args.fit)?;
    let quiet = args.quiet || args.json;
    let options::Problem { raw, specs, config } =
        options::read_problem(&args.fit, &args.layers.layers, quiet)?;
    if !quiet {
        eprintln!(
            "{}-fold cross-validation{} of {} on {} samples: {}",
            args.folds,
            if raw.task.is_classification() {
                " (stratified)"
            } else {
                ""
            },
            DynNetwork::new(specs.clone())?
                .layer_list()
                .map(|l| l.to_string())
                .unwrap_or_default(),
            raw.len(),
            options::describe_training(&config)
        );
    }
    let setup = crate::cv::CvSetup {
        specs: &specs,
        init: args.fit.init.into(),
        config: &config,
        normalize: args.fit.normalize,
        val_share: args.fit.val_split,
        folds: args.folds,
    };
    let summary = crate::cv::cross_validate(
        &raw,
        &setup,
        &mut Rng::new(args.fit.seed),
        &mut |result, metrics| {
            if !args.json {
                print_metrics(&format!("fold {}/{}", result.fold, args.folds), metrics);
            }
        },
    )?;
    if args.json {
        let text = serde_json::to_string_pretty(&summary).map_err(|e| Error::Config(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    let mut line = format!(
        "mean ± std over {} folds: loss {:.6} ± {:.6}  mse {:.6} ± {:.6}",
        args.folds, summary.loss.mean, summary.loss.std, summary.mse.mean, summary.mse.std
    );
    if let Some(accuracy) = summary.accuracy {
        line.push_str(&format!("  accuracy {:.4} ± {:.4}", accuracy.mean, accuracy.std));
    }
    println!("{line}");
    Ok(())
}

/// The model name a written file stores: `--name`, else the output file's stem.
pub(super) fn model_name(name: Option<&str>, out: &Path) -> String {
    name.map(str::to_owned).unwrap_or_else(|| {
        out.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    })
}

pub(super) fn print_metrics(label: &str, m: &Metrics) {
    let mut line = format!(
        "{label:<10} samples {:>5}  loss {:.6}  mse {:.6}  mae {:.6}",
        m.samples, m.loss, m.mse, m.mae
    );
    if let Some(accuracy) = m.accuracy {
        line.push_str(&format!("  accuracy {accuracy:.4}"));
    }
    println!("{line}");
}

/// A checked weight file read from disk (f32 or int8), its layers and its normalization.
pub(super) struct LoadedModel {
    path: PathBuf,
    /// The model's name in the file.
    name: String,
    /// Bytes of the file.
    file_len: usize,
    net: ModelNet,
    layers: Vec<nn_core::LayerSpec>,
    scaling: Option<Scaling>,
    /// Its names (format version 3), if it has them.
    names: Option<export::ModelNames>,
}

/// The network of a weight file, by kind.
enum ModelNet {
    F32(DynNetwork),
    Int8(crate::quantize::Int8File),
}

impl LoadedModel {
    fn inputs(&self) -> usize {
        self.layers.first().map_or(0, |l| usize::from(l.inputs))
    }

    fn outputs(&self) -> usize {
        self.layers.last().map_or(0, |l| usize::from(l.outputs))
    }

    fn output_activation(&self) -> nn_core::Activation {
        self.layers
            .last()
            .map_or(nn_core::Activation::Identity, |l| l.activation)
    }

    /// The f32 network, for what only runs on one (training, explaining, quantizing).
    fn f32(&self) -> Result<&DynNetwork, Error> {
        match &self.net {
            ModelNet::F32(net) => Ok(net),
            ModelNet::Int8(_) => Err(Error::weight_file(
                &self.path,
                nn_core::Error::WrongModelKind {
                    found: nn_core::ModelKind::Int8,
                    expected: nn_core::ModelKind::F32,
                },
            )),
        }
    }

    /// nn-core's forward of the network, whichever its kind.
    fn forward(&self) -> Result<Box<dyn Forward + '_>, Error> {
        Ok(match &self.net {
            ModelNet::F32(net) => Box::new(NetForward::new(net)),
            ModelNet::Int8(file) => Box::new(crate::quantize::QForward::new(
                file.model().map_err(|e| Error::weight_file(&self.path, e))?,
            )),
        })
    }
}

pub(super) fn load_model(path: &Path) -> Result<LoadedModel, Error> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, &e))?;
    let file = WeightFile::parse_exact(&bytes).map_err(|error| Error::weight_file(path, error))?;
    let scaling = file.normalization().map(|n| Scaling {
        offset: n.offset.iter().collect(),
        scale: n.scale.iter().collect(),
    });
    let net = match file.kind() {
        nn_core::ModelKind::Int8 => ModelNet::Int8(
            crate::quantize::Int8File::new(&bytes).map_err(|error| Error::weight_file(path, error))?,
        ),
        _ => ModelNet::F32(DynNetwork::from_file(&file)?),
    };
    Ok(LoadedModel {
        path: path.to_path_buf(),
        name: file.name().to_owned(),
        file_len: bytes.len(),
        net,
        layers: file.layers().as_slice().to_vec(),
        scaling,
        names: file.names().map(|names| export::ModelNames {
            inputs: names.inputs().map(str::to_owned).collect(),
            target: names.target().to_owned(),
            classes: names.classes().map(str::to_owned).collect(),
        }),
    })
}

/// Says so when `data` has fewer rows than the `wanted` test vectors (all are stored).
pub(super) fn note_fewer_rows(wanted: usize, data: &Path, rows: usize) {
    if wanted > rows {
        eprintln!(
            "note: {rows} test vectors stored, not {wanted}: {} has only {rows} rows",
            data.display()
        );
    }
}

/// The columns of `table` that are `model`'s inputs, in input order: by name when the file
/// names them (any order; extra columns are said and left out), else every column but
/// `target`, in order (a file of format version 1 or 2, said).
///
/// # Errors
/// [`DataError::MissingColumns`] naming the model's columns the table lacks;
/// [`DataError::FeatureCount`] for an unnamed model and a table of another width.
fn model_columns(model: &LoadedModel, table: &Table, target: Option<&str>) -> Result<Vec<usize>, Error> {
    let target_column = target.map(|t| table.column(t)).transpose()?;
    let Some(names) = &model.names else {
        eprintln!(
            "note: {} has no column names (format version 1 or 2): {} columns are taken in order",
            model.path.display(),
            table.path.display()
        );
        let columns: Vec<usize> = (0..table.columns.len())
            .filter(|&c| Some(c) != target_column)
            .collect();
        check_feature_count(&table.path, columns.len(), model.inputs())?;
        return Ok(columns);
    };
    let found: Vec<Option<usize>> = names
        .inputs
        .iter()
        .map(|name| table.columns.iter().position(|c| c == name))
        .collect();
    let missing: Vec<String> = names
        .inputs
        .iter()
        .zip(&found)
        .filter(|(_, found)| found.is_none())
        .map(|(name, _)| format!("'{name}'"))
        .collect();
    if !missing.is_empty() {
        return Err(DataError::MissingColumns {
            file: table.path.clone(),
            missing: missing.join(", "),
            inputs: names.inputs.join(", "),
            available: table.columns.join(", "),
        }
        .into());
    }
    let columns: Vec<usize> = found.into_iter().flatten().collect();
    let ignored: Vec<&str> = (0..table.columns.len())
        .filter(|c| !columns.contains(c) && Some(*c) != target_column)
        .map(|c| table.columns[c].as_str())
        .collect();
    if !ignored.is_empty() {
        eprintln!(
            "note: {}: ignoring {} (not among the model's input columns)",
            table.path.display(),
            ignored.join(", ")
        );
    }
    Ok(columns)
}

/// The model's class names, if it has them.
fn class_names(model: &LoadedModel) -> &[String] {
    model.names.as_ref().map_or(&[], |n| &n.classes)
}

/// A data file's feature columns must be the model's inputs.
pub(super) fn check_feature_count(file: &Path, features: usize, inputs: usize) -> Result<(), Error> {
    if features == inputs {
        Ok(())
    } else {
        Err(DataError::FeatureCount {
            file: file.to_path_buf(),
            features,
            inputs,
        }
        .into())
    }
}

/// A model, its loss, and a labelled data file normalized as the model expects.
fn load_labelled(args: &LabelledArgs) -> Result<(LoadedModel, Loss, Dataset), Error> {
    let model = load_model(&args.model)?;
    let loss = args
        .loss
        .map_or_else(|| Task::default_loss(model.output_activation()), Loss::from);
    let mut dataset = read_for_model(&model, &args.data, &args.target, loss)?;
    if let Some(s) = &model.scaling {
        s.apply(&mut dataset);
    }
    Ok((model, loss, dataset))
}

/// A labelled CSV file for `model` (raw: not yet normalized), its targets read for `loss`.
fn read_for_model(model: &LoadedModel, data: &Path, target: &str, loss: Loss) -> Result<Dataset, Error> {
    let table = Table::read_labelled_csv(data, target)?;
    let task = Task::for_loss(loss, model.outputs())?;
    let inputs = model_columns(model, &table, Some(target))?;
    let target_column = table.column(target)?;
    Ok(Dataset::from_columns(
        &table,
        &inputs,
        target_column,
        task,
        class_names(model),
    )?)
}

/// [`read_for_model`] with the model's default loss, raw and normalized.
fn read_raw_and_normalized(
    model: &LoadedModel,
    data: &Path,
    target: &str,
) -> Result<(Dataset, Dataset), Error> {
    let raw = read_for_model(model, data, target, Task::default_loss(model.output_activation()))?;
    let mut normalized = raw.clone();
    if let Some(s) = &model.scaling {
        s.apply(&mut normalized);
    }
    Ok((raw, normalized))
}

fn explain(args: ExplainArgs) -> Result<(), Error> {
    let plots = ["importance.svg", "heatmap.svg"].map(|suffix| export::sibling(&args.labelled.model, suffix));
    output::check(
        &[&args.labelled.model, &args.labelled.data],
        &[&plots[0], &plots[1]],
    )?;
    let (model, loss, data) = load_labelled(&args.labelled)?;
    let explanation =
        crate::explain::explain(model.f32()?, &data, loss, args.repeats, &mut Rng::new(args.seed));
    let title = format!("{}: which inputs matter", args.labelled.model.display());
    let mut files = vec![(
        export::sibling(&args.labelled.model, "importance.svg"),
        crate::plot::importance_bars_svg(&title, &explanation, 40).into_bytes(),
    )];
    let side = (data.feature_count() as f64).sqrt() as usize;
    if side * side == data.feature_count() && side >= 4 {
        let by_feature: Vec<f32> = data
            .feature_names
            .iter()
            .map(|name| {
                explanation
                    .features
                    .iter()
                    .find(|f| &f.feature == name)
                    .map_or(0.0, |f| f.permutation.max(0.0))
            })
            .collect();
        let heat = crate::plot::heatmap_svg(
            &format!("{title} (permutation, {side}x{side})"),
            &by_feature,
            side,
        );
        files.push((
            export::sibling(&args.labelled.model, "heatmap.svg"),
            heat.into_bytes(),
        ));
    }
    export::write_all_atomically(&files)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&explanation).map_err(|e| Error::Config(e.to_string()))?
        );
        return Ok(());
    }
    println!(
        "baseline {} {:.4} ({} samples, {} shuffles per feature)",
        explanation.metric,
        explanation.baseline,
        data.len(),
        explanation.repeats
    );
    println!(
        "{:>4}  {:<20} {:>12} {:>8} {:>10}",
        "rank", "feature", "permutation", "± std", "saliency"
    );
    for (rank, f) in explanation.features.iter().enumerate() {
        println!(
            "{:>4}  {:<20} {:>12.4} {:>8.4} {:>10.4}",
            rank + 1,
            f.feature,
            f.permutation,
            f.permutation_std,
            f.saliency
        );
    }
    for (path, _) in &files {
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn eval(args: EvalArgs) -> Result<(), Error> {
    let (model, loss, data) = load_labelled(&args.labelled)?;
    let metrics = evaluate_with(&mut *model.forward()?, &data, loss);
    if args.json {
        let mut json = serde_json::json!({
            "samples": metrics.samples,
            "loss_name": metrics.loss_name,
            "loss": metrics.loss,
        });
        if let (Some(accuracy), Some(confusion)) = (metrics.accuracy, &metrics.confusion) {
            json["accuracy"] = serde_json::json!(accuracy);
            json["confusion"] = serde_json::json!(confusion);
            if !data.class_names.is_empty() {
                json["classes"] = serde_json::json!(data.class_names);
            }
        } else {
            json["mse"] = serde_json::json!(metrics.mse);
            json["mae"] = serde_json::json!(metrics.mae);
        }
        println!("{json}");
    } else {
        print_metrics("eval", &metrics);
        if let Some(confusion) = &metrics.confusion {
            println!("confusion matrix (rows: true class, columns: predicted):");
            let names = &data.class_names;
            let width = names.iter().map(String::len).max().unwrap_or(0);
            if !names.is_empty() {
                let heads: Vec<String> = names.iter().map(|n| format!(" {n:>4}")).collect();
                println!("{:width$}{}", "", heads.join(""));
            }
            for (class, row) in confusion.iter().enumerate() {
                let name = names.get(class).map_or("", String::as_str);
                let cells: Vec<String> = row
                    .iter()
                    .zip(names.iter().map(|n| n.len().max(4)).chain(core::iter::repeat(4)))
                    .map(|(c, w)| format!(" {c:>w$}"))
                    .collect();
                println!("{name:width$}{}", cells.join(""));
            }
        }
    }
    Ok(())
}

fn predict(args: PredictArgs) -> Result<(), Error> {
    // `--out -` is standard output, as without `--out`.
    let out = args.out.as_deref().filter(|out| *out != Path::new("-"));
    output::check(&[&args.model, &args.data], &out.into_iter().collect::<Vec<_>>())?;
    let model = load_model(&args.model)?;
    // A target column may hold class names: read as text, never as an input.
    let table = match args.target.as_deref() {
        Some(target) => Table::read_labelled_csv(&args.data, target)?,
        None => Table::read_csv(&args.data)?,
    };
    let columns = model_columns(&model, &table, args.target.as_deref())?;
    let mut forward = model.forward()?;
    let classes = class_names(&model);
    let mut csv: String = (0..model.outputs())
        .map(|o| format!("output_{o}"))
        .chain((!classes.is_empty()).then(|| "class".to_owned()))
        .collect::<Vec<_>>()
        .join(",");
    csv.push('\n');
    let mut x = vec![0.0; columns.len()];
    for row in 0..table.rows() {
        for (x, &c) in x.iter_mut().zip(&columns) {
            *x = table.get(row, c);
        }
        if let Some(s) = &model.scaling {
            s.apply_row(&mut x);
        }
        let y = forward.forward(&x);
        let mut fields: Vec<String> = y.iter().map(|v| format!("{v:?}")).collect();
        if !classes.is_empty() {
            let class = crate::metrics::predicted_class(y);
            fields.push(classes.get(class).cloned().unwrap_or_default());
        }
        csv.push_str(&fields.join(","));
        csv.push('\n');
    }
    match out {
        Some(out) => export::write_all_atomically(&[(out.to_path_buf(), csv.into_bytes())]),
        None => {
            print!("{csv}");
            Ok(())
        }
    }
}

fn inspect(args: InspectArgs) -> Result<(), Error> {
    let bytes = std::fs::read(&args.model).map_err(|e| DataError::io(&args.model, &e))?;
    let file = WeightFile::parse_exact(&bytes).map_err(|error| Error::weight_file(&args.model, error))?;
    if args.rust {
        let net = DynNetwork::from_file(&file)?;
        print!("{}", export::rust_declaration(&net, &args.model));
        return Ok(());
    }
    let layers = file.layers();
    println!("file            {}", args.model.display());
    println!("name            {}", file.name());
    println!("format version  {}", file.version());
    println!("kind            {}", file.kind());
    println!("layers          {layers}");
    for (i, spec) in layers.as_slice().iter().enumerate() {
        println!(
            "  layer {i}       {:>5} -> {:<5} {:<10} {:>7} parameters",
            spec.inputs,
            spec.outputs,
            spec.activation.name(),
            spec.param_count()
        );
    }
    println!(
        "parameters      {} ({} bytes)",
        layers.param_count(),
        file.params().as_bytes().len()
    );
    println!(
        "normalization   {}",
        if file.normalization().is_some() {
            "yes"
        } else {
            "no"
        }
    );
    match file.names() {
        Some(names) => {
            let inputs: Vec<&str> = names.inputs().collect();
            println!(
                "columns         {} (target {})",
                inputs.join(", "),
                names.target()
            );
            if names.class_count() > 0 {
                println!(
                    "classes         {}",
                    names.classes().collect::<Vec<_>>().join(", ")
                );
            }
        }
        None => println!("columns         (not named in the file: data is matched by position)"),
    }
    if let Ok(int8) = file.int8_model()
        && int8.rules == nn_core::Int8Rules::TfliteMicro
    {
        println!(
            "arithmetic      TensorFlow Lite Micro's int8, {:?} rounding{}",
            int8.rounding,
            if int8.input_tables.is_some() {
                ", input tables"
            } else {
                ""
            }
        );
    }
    let parity = test_vector_parity(&args.model, &file)?;
    println!(
        "test vectors    {} (nn-core's forward, as the board runs it: {} mismatches)",
        file.test_vector_count(),
        parity.mismatches
    );
    println!("file size       {} bytes", file.len());
    println!("CRC-32          {:08x} (ok)", file.crc());
    if let Some(board) = args.board.as_deref().and_then(crate::boards::board) {
        print_board_fit(&file, &board);
    }
    match parity.first {
        None => Ok(()),
        Some((vector, expected, computed)) => Err(Error::Config(format!(
            "{}: {} of {} test vectors differ from nn-core's forward, which the board compares them with bit \
             for bit (vector {vector}: expected {expected:?}, nn-core computes {computed:?}); the board would report \
             PARITY mismatches. Expected outputs are nn-core's own, after the output activation (nn-core/FORMAT.md)",
            args.model.display(),
            parity.mismatches,
            file.test_vector_count()
        ))),
    }
}

/// The test vectors of a file against nn-core's forward.
struct Parity {
    mismatches: usize,
    /// The first that differs: its index, the stored output, nn-core's.
    first: Option<(usize, Vec<f32>, Vec<f32>)>,
}

/// Runs `file`'s test vectors through nn-core's forward (its normalization, then the
/// network, f32 or int8, as the board runs them) and compares each output bit for bit.
fn test_vector_parity(path: &Path, file: &WeightFile<'_>) -> Result<Parity, Error> {
    let model = load_model(path)?;
    let mut forward = model.forward()?;
    let mut parity = Parity {
        mismatches: 0,
        first: None,
    };
    for vector in 0..file.test_vector_count() {
        let Some((input, expected)) = file.test_vector(vector) else {
            continue;
        };
        let mut x: Vec<f32> = input.iter().collect();
        if let Some(scaling) = &model.scaling {
            scaling.apply_row(&mut x);
        }
        let computed = forward.forward(&x).to_vec();
        let expected: Vec<f32> = expected.iter().collect();
        let same = computed.len() == expected.len()
            && computed
                .iter()
                .zip(&expected)
                .all(|(a, b)| a.to_bits() == b.to_bits());
        if !same {
            parity.mismatches += 1;
            parity.first.get_or_insert((vector, expected, computed));
        }
    }
    Ok(parity)
}

/// The `--board` part of `inspect`: flash, RAM, and whether the unmodified firmware runs it.
fn print_board_fit(file: &WeightFile<'_>, board: &crate::boards::Board) {
    let fit = crate::boards::Fit::of(file, board);
    let yes_no = |ok: bool| if ok { "yes" } else { "no" };
    let (flash, run_time) = (fit.flash_fits(board), fit.run_time_fits(board));
    println!("board           {} ({})", board.name, board.description);
    println!(
        "  flash         {} of the model region's {} bytes: fits {}",
        fit.file_bytes,
        board.model_region_bytes,
        yes_no(flash)
    );
    println!(
        "  run-time path widest layer {} of {} units: fits {}",
        fit.widest,
        board.run_time_capacity,
        yes_no(run_time)
    );
    println!(
        "  RAM           scratch {} bytes for this file; the firmware reserves {} of the board's {} (fixed by its build)",
        fit.scratch_bytes, fit.reserved_scratch_bytes, board.ram_bytes
    );
    let verdict = match (flash, run_time) {
        (true, true) => "yes: the unmodified firmware runs it".to_owned(),
        (true, false) => "only on a typed path: build the firmware with NN_MODELS naming this file \
                          (firmware-example/README.md, \"Your own model on the board\")"
            .to_owned(),
        (false, _) => "no: the file is larger than the board's model region".to_owned(),
    };
    println!("  runs          {verdict}");
}

fn quantize(args: QuantizeArgs) -> Result<(), Error> {
    let mut inputs = vec![args.model.as_path(), args.calib.as_path()];
    inputs.extend(args.test.as_deref());
    output::check(&inputs, &[&args.out])?;
    let model = load_model(&args.model)?;
    let net = model.f32()?;
    let (raw, calib) = read_raw_and_normalized(&model, &args.calib, &args.target)?;
    let test = args
        .test
        .as_ref()
        .map(|path| read_raw_and_normalized(&model, path, &args.target).map(|(_, normalized)| normalized))
        .transpose()?;
    let qnet = crate::quantize::quantize(net, &calib)?;
    let int8 = qnet.model();
    let mut predictor = crate::quantize::QPredictor::new(&int8);
    note_fewer_rows(args.vectors, &args.calib, raw.len());
    let golden = Golden::from_samples_with(model.scaling.as_ref(), &raw, args.vectors, 0, |x| {
        predictor.predict(&int8, x).to_vec()
    });
    let file = export::encode_int8_model(
        &qnet,
        &model.name,
        model.scaling.as_ref(),
        &golden,
        model.names.as_ref(),
        &args.out,
    )?;
    let calib_report = crate::quantize::compare(net, &qnet, &calib);
    let test_report = test.as_ref().map(|t| crate::quantize::compare(net, &qnet, t));
    let int8_file_bytes = file.len();
    export::write_all_atomically(&[(args.out.clone(), file)])?;
    let f32_params = net.params().len() * 4;
    if args.json {
        let json = serde_json::json!({
            "f32_file_bytes": model.file_len,
            "int8_file_bytes": int8_file_bytes,
            "f32_parameter_bytes": f32_params,
            "int8_parameter_bytes": qnet.parameter_bytes(),
            "calibration": calib_report,
            "test": test_report,
        });
        println!("{json}");
        return Ok(());
    }
    println!(
        "{} ({} bytes, parameters {f32_params} bytes) -> {} (int8, {} bytes, parameters {} bytes)",
        args.model.display(),
        model.file_len,
        args.out.display(),
        int8_file_bytes,
        qnet.parameter_bytes()
    );
    let metric = if calib_report.classification {
        "accuracy"
    } else {
        "MSE"
    };
    println!(
        "{:<12} {:>8} {:>12} {:>12} {:>12}",
        "",
        "samples",
        format!("f32 {metric}"),
        format!("int8 {metric}"),
        "max |diff|"
    );
    let rows = std::iter::once(("calibration", calib_report)).chain(test_report.map(|t| ("test", t)));
    for (what, c) in rows {
        let (f, q) = if c.classification {
            (c.accuracy_f32, c.accuracy_int8)
        } else {
            (c.mse_f32, c.mse_int8)
        };
        println!(
            "{what:<12} {:>8} {f:>12.6} {q:>12.6} {:>12.6}",
            c.samples, c.max_abs_diff
        );
    }
    println!(
        "wrote {} ({} test vectors from nn-core's int8 forward)",
        args.out.display(),
        golden.inputs.len() / raw.feature_count().max(1)
    );
    Ok(())
}

fn split(args: SplitArgs) -> Result<(), Error> {
    check_fraction("--test", args.test)?;
    output::check(&[&args.data], &[&args.train_out, &args.test_out])?;
    let table = match &args.target {
        Some(target) => Table::read_labelled_csv(&args.data, target)?,
        None => Table::read_csv(&args.data)?,
    };
    if let Some(target) = &args.target {
        table.column(target)?;
    }
    // Stratified by label, whether the labels are numbers or names.
    let labels: Vec<usize> = match &table.text {
        Some((_, text)) => {
            let mut distinct = text.clone();
            distinct.sort();
            distinct.dedup();
            text.iter()
                .map(|label| distinct.binary_search(label).unwrap_or_default())
                .collect()
        }
        None => vec![],
    };
    // Rows as a data set of row numbers, so the split (and its stratification) is the trainer's.
    let rows = Dataset {
        feature_names: vec!["row".into()],
        features: (0..table.rows()).map(|r| r as f32).collect(),
        targets: vec![0.0; table.rows()],
        labels,
        task: if args.target.is_some() {
            Task::Binary
        } else {
            Task::Regression
        },
        class_names: Vec::new(),
    };
    let (train, test) = rows.split(args.test, &mut Rng::new(args.seed));
    let to_csv = |part: &Dataset| {
        let mut csv = table.columns.join(",");
        csv.push('\n');
        for &r in &part.features {
            let r = r as usize;
            let values: Vec<String> = (0..table.columns.len())
                .map(|c| match &table.text {
                    Some((column, text)) if *column == c => text[r].clone(),
                    _ => format!("{:?}", table.get(r, c)),
                })
                .collect();
            csv.push_str(&values.join(","));
            csv.push('\n');
        }
        csv.into_bytes()
    };
    export::write_all_atomically(&[
        (args.train_out.clone(), to_csv(&train)),
        (args.test_out.clone(), to_csv(&test)),
    ])?;
    println!(
        "wrote {} ({} rows) and {} ({} rows)",
        args.train_out.display(),
        train.len(),
        args.test_out.display(),
        test.len()
    );
    Ok(())
}

fn dataset(args: DatasetArgs) -> Result<(), Error> {
    output::check(&[], &[&args.out])?;
    let kind = match args.kind {
        DatasetKind::Square => Synthetic::Square,
        DatasetKind::Sine => Synthetic::Sine,
    };
    let rows = kind.generate(args.samples, args.noise, &mut Rng::new(args.seed));
    export::write_all_atomically(&[(args.out.clone(), Synthetic::to_csv(&rows).into_bytes())])?;
    println!("wrote {} ({} rows)", args.out.display(), rows.len());
    Ok(())
}

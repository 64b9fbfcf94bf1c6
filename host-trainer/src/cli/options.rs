//! The options `train` and `cv` share (the data, the network, and how to fit it), their
//! checks before a byte of data is read, and the problem and training configuration they
//! make.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::ValueEnum;
use nn_core::{Init, LayerSpec, Loss};

use super::{LossArg, at_least_one, training_columns};
use crate::class_weight::ClassWeights;
use crate::data::{Dataset, Normalize, Table, Task};
use crate::error::Error;
use crate::gradient::{Clip, GradientRules};
use crate::network::DynNetwork;
use crate::optim::{ADAMW_WEIGHT_DECAY, Optimizer};
use crate::schedule::LrSchedule;
use crate::train::{EpochReport, TrainConfig, check_fraction, check_options};

/// The optimizers of `--optimizer`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum OptimizerArg {
    Sgd,
    Momentum,
    Adam,
    Adamw,
    Rmsprop,
}

impl OptimizerArg {
    fn name(self) -> &'static str {
        match self {
            OptimizerArg::Sgd => "sgd",
            OptimizerArg::Momentum => "momentum",
            OptimizerArg::Adam => "adam",
            OptimizerArg::Adamw => "adamw",
            OptimizerArg::Rmsprop => "rmsprop",
        }
    }
}

/// The initializations of `--init`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum InitArg {
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
}

impl From<InitArg> for Init {
    fn from(init: InitArg) -> Init {
        match init {
            InitArg::GlorotUniform => Init::GlorotUniform,
            InitArg::GlorotNormal => Init::GlorotNormal,
            InitArg::HeUniform => Init::HeUniform,
            InitArg::HeNormal => Init::HeNormal,
        }
    }
}

/// What `train` and `cv` share: the data, the network and how to fit it.
#[derive(Debug, clap::Args)]
pub(super) struct FitArgs {
    /// CSV file with a header line.
    #[arg(long)]
    pub(super) data: PathBuf,
    /// The target column; every other column is an input feature.
    #[arg(long)]
    pub(super) target: String,
    /// Loss (default: cross-entropy after softmax, binary-cross-entropy after sigmoid, else mse).
    #[arg(long, value_enum)]
    pub(super) loss: Option<LossArg>,
    /// Optimizer (Keras' formulas and defaults; adamw is adam with decoupled weight decay).
    #[arg(long, value_enum, default_value = "adam")]
    pub(super) optimizer: OptimizerArg,
    /// Learning rate, above 0 (default 0.001 for adam, adamw and rmsprop, 0.01 for sgd and
    /// momentum).
    #[arg(long, allow_negative_numbers = true)]
    pub(super) lr: Option<f32>,
    /// Passes over the training data (at least 1).
    #[arg(long, default_value_t = 100, value_parser = at_least_one, allow_negative_numbers = true)]
    pub(super) epochs: usize,
    /// Samples per gradient step (at least 1).
    #[arg(long, default_value_t = 32, value_parser = at_least_one, allow_negative_numbers = true)]
    pub(super) batch: usize,
    /// Share of the data held out for validation (stratified for classification).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub(super) val_split: f32,
    /// Stop when the validation loss has not improved for N epochs (keeping the best
    /// weights); needs `--val-split`.
    #[arg(long, value_parser = at_least_one, allow_negative_numbers = true)]
    pub(super) patience: Option<usize>,
    /// Seed of every random choice: same seed, same bytes out.
    #[arg(long, default_value_t = 0)]
    pub(super) seed: u64,
    /// Input normalization fitted on the training split: standard, min-max, none, divide:NUMBER.
    #[arg(long, default_value = "standard")]
    pub(super) normalize: Normalize,
    /// Weight initialization.
    #[arg(long, value_enum, default_value = "glorot-uniform")]
    pub(super) init: InitArg,
    /// Columns to leave out of the inputs, by name or 1-based number (e.g. a pandas index
    /// column, which has no name): `--ignore id,3`.
    #[arg(long)]
    pub(super) ignore: Option<String>,
    /// Threads per batch (1 or 2, at most the machine's cores; default 2 where there are two
    /// cores). Same bytes either way.
    #[arg(long, value_parser = at_least_one, allow_negative_numbers = true)]
    pub(super) threads: Option<usize>,
    /// Augmentation: Gaussian noise of this standard deviation on every (normalized) feature,
    /// drawn afresh every epoch.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub(super) augment_noise: f32,
    /// Augmentation: every sample scaled by a factor drawn from [1 - A, 1 + A] every epoch.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub(super) augment_scale: f32,
    /// Augmentation (classification): mixup with λ ~ Beta(ALPHA, ALPHA), e.g. 0.2.
    #[arg(long, allow_negative_numbers = true)]
    pub(super) mixup: Option<f32>,
    /// L2 penalty on the kernels (not the biases), Keras' `kernel_regularizer=L2(LAMBDA)`:
    /// LAMBDA·Σw² is added to the loss (and to the reported loss and val_loss).
    #[arg(
        long,
        value_name = "LAMBDA",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub(super) l2: f32,
    /// Dropout rate after every hidden layer (Keras' `Dropout(P)`), in training only: the
    /// weight file and the board are unchanged. A layer's own `dropout=` in --layers wins.
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub(super) dropout: Option<f32>,
    /// Decoupled weight decay, Keras' `weight_decay`: before each step every parameter loses
    /// p·DECAY·lr (default 0.004 with adamw, else none).
    #[arg(long, value_name = "DECAY", allow_negative_numbers = true)]
    pub(super) weight_decay: Option<f32>,
    /// Keras' `clipnorm`: each gradient tensor (a layer's kernel, a bias) scaled down to an
    /// L2 norm of at most N.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        conflicts_with = "clip_value"
    )]
    pub(super) clip_norm: Option<f32>,
    /// Keras' `clipvalue`: every gradient element clamped to [-V, V].
    #[arg(long, value_name = "V", allow_negative_numbers = true)]
    pub(super) clip_value: Option<f32>,
    /// Learning-rate schedule, on an epoch clock evaluated at every step: constant,
    /// step:EVERY:FACTOR (times FACTOR every EVERY epochs), exponential:RATE (times RATE per
    /// epoch, smoothly), cosine[:WARMUP] (linear warm-up over WARMUP epochs, then cosine decay
    /// to 0 at the end), plateau:PATIENCE:FACTOR (times FACTOR after PATIENCE epochs without
    /// a 1e-4 improvement of val_loss, else of loss).
    #[arg(long, value_name = "SCHEDULE", default_value = "constant")]
    pub(super) lr_schedule: LrSchedule,
    /// Class weights of a classifier (Keras' `class_weight`): `balanced` (samples / (classes
    /// x class count)) or CLASS:WEIGHT,... by label number or class name, e.g. `0:1,1:3.5`.
    #[arg(long, value_name = "WEIGHTS")]
    pub(super) class_weight: Option<ClassWeights>,
}

/// Everything `train` and `cv` are given that they can check before reading a byte of data.
pub(super) fn check_fit_options(args: &FitArgs) -> Result<(), Error> {
    let config = |message: String| Err(Error::Config(message));
    check_fraction("--val-split", args.val_split)?;
    if let Some(lr) = args.lr
        && !(lr.is_finite() && lr > 0.0)
    {
        return config(format!("--lr must be a number above 0, not {lr}"));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let most = cores.min(2);
    if let Some(threads) = args.threads
        && threads > most
    {
        return config(format!(
            "--threads is 1 to {most} here ({cores} cores; the trainer uses at most 2), not {threads}"
        ));
    }
    if args.patience.is_some() && args.val_split == 0.0 {
        return config(
            "--patience stops on the validation loss: it needs a validation split (--val-split, e.g. 0.2)"
                .into(),
        );
    }
    if !(args.augment_noise.is_finite() && args.augment_noise >= 0.0) {
        return config(format!(
            "--augment-noise must be 0 or more, not {}",
            args.augment_noise
        ));
    }
    check_fraction("--augment-scale", args.augment_scale)?;
    if let Some(alpha) = args.mixup
        && !(alpha.is_finite() && alpha > 0.0)
    {
        return config(format!("--mixup must be above 0, not {alpha}"));
    }
    if let Some(rate) = args.dropout {
        check_fraction("--dropout", rate)?;
    }
    let options = TrainConfig {
        gradient: gradient_rules(args),
        weight_decay: weight_decay(args),
        schedule: args.lr_schedule,
        epochs: args.epochs,
        ..TrainConfig::new(Loss::MeanSquaredError)
    };
    check_options(&options, usize::MAX)
}

/// Refuses, before anything is allocated, a network and batch whose training would take more
/// memory than the machine has available: parameters, gradients per thread, the optimizer's
/// two moments and the best epoch's copy, and per thread the activations, pre-activations
/// and deltas of a batch.
pub(super) fn check_memory(specs: &[nn_core::LayerSpec], batch: usize, threads: usize) -> Result<(), Error> {
    let params: u64 = specs.iter().map(|s| s.param_count() as u64).sum();
    let units: u64 = specs.iter().map(|s| u64::from(s.outputs)).sum::<u64>()
        + specs.first().map_or(0, |s| u64::from(s.inputs));
    let threads = threads.max(1) as u64;
    let needed = 4 * (params * (4 + threads) + 3 * units * batch as u64 * threads);
    match available_memory() {
        Some(available) if needed > available => Err(Error::Config(format!(
            "training this network with batch {batch} needs about {:.1} GiB of memory ({params} parameters), \
             and this machine has {:.1} GiB available: use fewer or narrower layers, or a smaller batch",
            gib(needed),
            gib(available)
        ))),
        _ => Ok(()),
    }
}

/// Bytes of memory available to a new program (Linux's `MemAvailable`), if known.
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

/// The gradient rules of `--l2`, `--clip-norm` and `--clip-value`.
fn gradient_rules(args: &FitArgs) -> GradientRules {
    let clip = match (args.clip_norm, args.clip_value) {
        (Some(n), _) => Clip::Norm(n),
        (None, Some(v)) => Clip::Value(v),
        (None, None) => Clip::None,
    };
    GradientRules { l2: args.l2, clip }
}

/// `--weight-decay`, or AdamW's default with `--optimizer adamw`.
fn weight_decay(args: &FitArgs) -> f32 {
    match (args.weight_decay, args.optimizer) {
        (Some(decay), _) => decay,
        (None, OptimizerArg::Adamw) => ADAMW_WEIGHT_DECAY,
        (None, _) => 0.0,
    }
}

/// A training problem read from the options: the labelled data (not yet split or
/// normalized), the network's layers and the training configuration.
pub(super) struct Problem {
    /// Every row of the data file, features and targets.
    pub raw: Dataset,
    /// The layers of `--layers`.
    pub specs: Vec<LayerSpec>,
    /// How to train (with the loss given, or the output layer's natural one).
    pub config: TrainConfig,
}

/// The network of `train` and `cv`.
#[derive(Debug, clap::Args)]
pub(super) struct LayersArg {
    /// Layers after the input, e.g. `16:relu,16:relu,1:linear` (activations: linear, relu,
    /// leaky_relu, sigmoid, tanh, softmax); a hidden layer may add its own dropout rate,
    /// e.g. `32:relu:dropout=0.2`.
    #[arg(long)]
    pub(super) layers: String,
}

/// Reads the data file of `args` and makes the problem of training the network `layers`
/// (a `--layers` spec) on it; lists the classes unless `quiet`.
pub(super) fn read_problem(args: &FitArgs, layers: &str, quiet: bool) -> Result<Problem, Error> {
    let table = Table::read_labelled_csv(&args.data, &args.target)?;
    let target = table.column(&args.target)?;
    let input_columns = training_columns(&table, target, args.ignore.as_deref())?;
    let (specs, own_dropout) = DynNetwork::parse_layers(input_columns.len(), layers)?;
    check_memory(&specs, args.batch, args.threads.unwrap_or(2))?;
    let last = specs.len() - 1;
    let loss = args
        .loss
        .map_or_else(|| Task::default_loss(specs[last].activation), Loss::from);
    let task = Task::for_loss(loss, usize::from(specs[last].outputs))?;
    let raw = Dataset::from_columns(&table, &input_columns, target, task, &[])?;
    if !raw.class_names.is_empty() && !quiet {
        let classes: Vec<String> = raw
            .class_names
            .iter()
            .enumerate()
            .map(|(i, name)| format!("{i} {name}"))
            .collect();
        eprintln!("classes (labels in sorted order): {}", classes.join(", "));
    }
    let optimizer = Optimizer::from_name(args.optimizer.name(), args.lr)
        .ok_or_else(|| Error::Config("unknown optimizer".into()))?;
    let dropout = own_dropout
        .iter()
        .enumerate()
        .map(|(l, own)| {
            own.unwrap_or(if l < last {
                args.dropout.unwrap_or(0.0)
            } else {
                0.0
            })
        })
        .collect();
    let defaults = TrainConfig::new(loss);
    let config = TrainConfig {
        loss,
        optimizer,
        epochs: args.epochs,
        batch: args.batch,
        patience: args.patience,
        threads: args.threads.unwrap_or(defaults.threads),
        augment: augment_of(args),
        gradient: gradient_rules(args),
        weight_decay: weight_decay(args),
        schedule: args.lr_schedule,
        dropout,
        class_weights: args.class_weight.clone().unwrap_or_default(),
        ..defaults
    };
    check_options(&config, specs.len())?;
    Ok(Problem { raw, specs, config })
}

/// How `config` trains, for the one-line summary `train` and `cv` print: optimizer, loss,
/// batch, epochs, then whichever other options are not at their defaults.
pub(super) fn describe_training(config: &TrainConfig) -> String {
    let mut parts = vec![
        config.optimizer.to_string(),
        format!("loss {}", config.loss),
        format!("batch {}", config.batch),
        format!("{} epochs", config.epochs),
    ];
    if config.weight_decay > 0.0 {
        parts.push(format!("weight decay {}", config.weight_decay));
    }
    if config.gradient.l2 > 0.0 {
        parts.push(format!("l2 {}", config.gradient.l2));
    }
    match config.gradient.clip {
        Clip::None => {}
        Clip::Norm(n) => parts.push(format!("clip-norm {n}")),
        Clip::Value(v) => parts.push(format!("clip-value {v}")),
    }
    if config.schedule != LrSchedule::Constant {
        parts.push(format!("lr schedule {}", config.schedule));
    }
    let rates: Vec<String> = config.dropout.iter().map(|r| r.to_string()).collect();
    if config.dropout.iter().any(|&r| r > 0.0) {
        parts.push(format!("dropout {}", rates.join("/")));
    }
    if config.class_weights != ClassWeights::Equal {
        parts.push("class weights".into());
    }
    parts.join(", ")
}

fn augment_of(args: &FitArgs) -> crate::augment::Augment {
    crate::augment::Augment {
        noise: args.augment_noise,
        scale: args.augment_scale,
        mixup: args.mixup,
    }
}

/// Shows training progress: a bar on a terminal, a few plain lines otherwise, nothing when quiet.
pub(super) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
    every: usize,
}

impl Progress {
    pub(super) fn new(epochs: usize, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(epochs as u64);
            let style =
                indicatif::ProgressStyle::with_template("{bar:30} epoch {pos}/{len} {msg} [{elapsed}<{eta}]")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Progress {
            bar,
            quiet,
            every: epochs.div_ceil(20).max(1),
        }
    }

    pub(super) fn update(&mut self, report: &EpochReport) {
        let val = report
            .val_loss
            .map(|v| format!("  val_loss {v:.6}"))
            .unwrap_or_default();
        let message = format!("loss {:.6}{val}  lr {:.3e}", report.loss, report.lr);
        if let Some(bar) = &self.bar {
            bar.set_position(report.epoch as u64);
            bar.set_message(message);
        } else if !self.quiet
            && (report.epoch.is_multiple_of(self.every) || report.epoch == report.epochs || report.epoch == 1)
        {
            eprintln!("epoch {:>5}/{}  {message}", report.epoch, report.epochs);
        }
    }

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

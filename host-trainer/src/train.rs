//! The training loop: epochs of shuffled mini-batches, validation, early stopping, history.

use std::time::Instant;

use nn_core::{LayerViewMut, Loss};

use crate::augment::Augment;
use crate::class_weight::ClassWeights;
use crate::data::Dataset;
use crate::error::Error;
use crate::gradient::{self, Clip, GradientRules};
use crate::metrics::mean_loss;
use crate::network::DynNetwork;
use crate::optim::{Optimizer, OptimizerState};
use crate::parallel::{self, Half, SampleRules, Shared, split_point};
use crate::rng::Rng;
use crate::schedule::{LrSchedule, Scheduler};

/// How to train.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// The loss to minimise.
    pub loss: Loss,
    /// The optimizer.
    pub optimizer: Optimizer,
    /// Passes over the training data.
    pub epochs: usize,
    /// Samples per gradient step.
    pub batch: usize,
    /// Stop when the validation loss has not improved for this many epochs, and keep the
    /// best epoch's weights.
    pub patience: Option<usize>,
    /// Shuffle the training samples at the start of every epoch.
    pub shuffle: bool,
    /// Threads on a batch: 2 runs a helper on the second half of each batch, 1 computes
    /// both halves on the caller's thread. The result is the same bits either way.
    pub threads: usize,
    /// Augmentation of the training split, fresh every epoch (off by default).
    pub augment: Augment,
    /// L2 penalty on the kernels and gradient clipping (none by default).
    pub gradient: GradientRules,
    /// Keras' decoupled weight decay (0: none; AdamW is Adam with 0.004).
    pub weight_decay: f32,
    /// The learning rate's schedule (constant by default).
    pub schedule: LrSchedule,
    /// Dropout rate after each layer, by layer index (missing or 0: none; the output layer
    /// takes none).
    pub dropout: Vec<f32>,
    /// Loss weights of the classes (equal by default).
    pub class_weights: ClassWeights,
}

impl TrainConfig {
    /// Keras-like defaults: Adam, 10 epochs, batch 32, shuffled, no early stopping, two
    /// threads where there are two cores.
    pub fn new(loss: Loss) -> TrainConfig {
        TrainConfig {
            loss,
            optimizer: Optimizer::adam(1e-3),
            epochs: 10,
            batch: 32,
            patience: None,
            shuffle: true,
            threads: if parallel::two_cores() { 2 } else { 1 },
            augment: Augment::default(),
            gradient: GradientRules::default(),
            weight_decay: 0.0,
            schedule: LrSchedule::Constant,
            dropout: Vec::new(),
            class_weights: ClassWeights::Equal,
        }
    }
}

/// Checks that `value` is at least 0 and below 1 (a share, a rate).
///
/// # Errors
/// [`Error::Config`] naming `name` and the value.
pub fn check_fraction(name: &str, value: f32) -> Result<(), Error> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{name} must be at least 0 and below 1, not {value}"
        )))
    }
}

/// What a caller is told after each epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport {
    /// The epoch just finished (from 1).
    pub epoch: usize,
    /// Epochs planned.
    pub epochs: usize,
    /// Mean training loss over the epoch's batches (with the L2 penalty, as Keras reports it).
    pub loss: f32,
    /// Validation loss after the epoch (nn-core's forward, plus the L2 penalty), if there is
    /// validation data.
    pub val_loss: Option<f32>,
    /// The learning rate of the epoch's last step.
    pub lr: f32,
}

/// The losses of a training run, epoch by epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Mean training loss of each epoch.
    pub loss: Vec<f32>,
    /// Validation loss after each epoch (empty without validation data).
    pub val_loss: Vec<f32>,
    /// The learning rate of each epoch's last step.
    pub lr: Vec<f32>,
    /// The epoch (from 1) whose weights the network holds at the end.
    pub best_epoch: usize,
    /// True if early stopping ended the run.
    pub stopped_early: bool,
    /// Training samples processed (epochs × samples).
    pub samples: u64,
    /// Seconds spent in the training loop (batches and optimizer steps, not validation).
    pub train_seconds: f64,
}

impl History {
    /// Training throughput: samples per second of training time.
    pub fn samples_per_second(&self) -> f64 {
        self.samples as f64 / self.train_seconds.max(1e-9)
    }
}

/// Trains `net` on `train`, reporting each epoch to `progress`.
///
/// `rng` shuffles the batches; with the same seed, data and settings the result is the same
/// bits on every run.
///
/// # Errors
/// [`Error::Config`] for a data set that does not fit the network or a zero batch;
/// [`Error::Diverged`] if the loss becomes NaN or infinite (the network is then left as it
/// was before training).
pub fn fit(
    net: &mut DynNetwork,
    train: &Dataset,
    val: Option<&Dataset>,
    config: &TrainConfig,
    rng: &mut Rng,
    progress: &mut dyn FnMut(&EpochReport),
) -> Result<History, Error> {
    check_fit(net, train, config)?;
    let batch = config.batch.min(train.len());
    let threaded = config.threads >= 2 && split_point(batch) < batch;
    let original = net.params().to_vec();
    let mut rules = SampleRules {
        dropout: config.dropout.clone(),
        dropout_seed: 0,
        class_weights: config.class_weights.resolve(train)?,
    };
    if rules.has_dropout() {
        // Drawn only when used, so runs without dropout keep their bytes.
        rules.dropout_seed = rng.next_u64();
    }
    let (shared, mut own) = Shared::new(
        train,
        net.specs(),
        net.offsets(),
        original.clone(),
        batch,
        config.loss,
        rules,
    );
    let mut run = Run {
        net,
        train,
        val,
        config,
        rng,
        shared: &shared,
        own: &mut own,
        threaded,
        batch,
    };
    let result = std::thread::scope(|scope| {
        if threaded {
            scope.spawn(|| shared.serve());
        }
        let _stop = shared.stop_on_drop();
        run.epochs(progress)
    });
    if result.is_err() {
        run.net.params_mut().copy_from_slice(&original);
    }
    result
}

/// One training run in progress.
struct Run<'r, 'd> {
    net: &'r mut DynNetwork,
    train: &'d Dataset,
    val: Option<&'d Dataset>,
    config: &'r TrainConfig,
    rng: &'r mut Rng,
    shared: &'r Shared<'d>,
    own: &'r mut Half,
    threaded: bool,
    batch: usize,
}

impl Run<'_, '_> {
    fn epochs(&mut self, progress: &mut dyn FnMut(&EpochReport)) -> Result<History, Error> {
        let config = self.config;
        let mut optimizer =
            OptimizerState::new(config.optimizer, config.weight_decay, self.net.params().len());
        let mut scheduler = Scheduler::new(config.schedule, config.optimizer.lr(), config.epochs);
        let batches = self.train.len().div_ceil(self.batch);
        let mut step = 0u64;
        let mut lr = config.optimizer.lr();
        let mut grads = vec![0.0; self.net.params().len()];
        let mut order: Vec<usize> = (0..self.train.len()).collect();
        let mut best = (f32::INFINITY, 0, self.net.params().to_vec());
        let mut history = History::default();
        for epoch in 1..=config.epochs {
            let started = Instant::now();
            if config.augment.is_active() {
                self.shared
                    .set_augmented(Some(config.augment.apply(self.train, self.rng)));
            }
            if config.shuffle {
                self.rng.shuffle(&mut order);
            }
            let mut epoch_loss = 0.0f64;
            for (batch, chunk) in order.chunks(self.batch).enumerate() {
                step += 1;
                let (first, second) = chunk.split_at(split_point(chunk.len()));
                self.own.samples.clear();
                self.own.samples.extend_from_slice(first);
                self.own.step = step;
                {
                    let mut helper = self.shared.helper();
                    helper.samples.clear();
                    helper.samples.extend_from_slice(second);
                    helper.step = step;
                }
                self.shared.compute(self.own, self.threaded);
                let helper = self.shared.helper();
                for ((g, a), b) in grads.iter_mut().zip(&self.own.grads).zip(&helper.grads) {
                    *g = a + b;
                }
                epoch_loss += f64::from(self.own.loss) + f64::from(helper.loss);
                drop(helper);
                let mut params = self
                    .shared
                    .params
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let (specs, offsets) = (self.net.specs(), self.net.offsets());
                let penalty = gradient::l2_penalty(config.gradient.l2, &params, specs, offsets);
                epoch_loss += f64::from(penalty) * chunk.len() as f64;
                gradient::finish(&mut grads, &params, chunk.len(), specs, offsets, &config.gradient);
                lr = scheduler.lr(epoch, batch, batches);
                optimizer.step(&mut params, &grads, lr);
            }
            history.train_seconds += started.elapsed().as_secs_f64();
            history.samples += self.train.len() as u64;
            self.net.params_mut().copy_from_slice(
                &self
                    .shared
                    .params
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            let loss = (epoch_loss / self.train.len() as f64) as f32;
            if !loss.is_finite() || self.net.params().iter().any(|p| !p.is_finite()) {
                return Err(Error::Diverged { epoch, loss });
            }
            let penalty = gradient::l2_penalty(
                config.gradient.l2,
                self.net.params(),
                self.net.specs(),
                self.net.offsets(),
            );
            let val_loss = self
                .val
                .filter(|v| !v.is_empty())
                .map(|v| mean_loss(self.net, v, config.loss) + penalty);
            history.loss.push(loss);
            history.val_loss.extend(val_loss);
            history.lr.push(lr);
            progress(&EpochReport {
                epoch,
                epochs: config.epochs,
                loss,
                val_loss,
                lr,
            });
            let monitored = val_loss.unwrap_or(loss);
            scheduler.end_epoch(monitored);
            if monitored < best.0 {
                best = (monitored, epoch, self.net.params().to_vec());
            }
            if config
                .patience
                .is_some_and(|p| val_loss.is_some() && epoch - best.1 >= p)
            {
                history.stopped_early = true;
                break;
            }
        }
        if config.patience.is_some() && best.1 > 0 {
            self.net.params_mut().copy_from_slice(&best.2);
            history.best_epoch = best.1;
        } else {
            history.best_epoch = history.loss.len();
        }
        Ok(history)
    }
}

/// Trains any network seen through nn-core's layer view (a typed network, for one): its
/// parameters are copied out, trained as in [`fit`], and written back.
///
/// # Errors
/// As [`fit`].
pub fn fit_view(
    net: &mut dyn LayerViewMut,
    train: &Dataset,
    val: Option<&Dataset>,
    config: &TrainConfig,
    rng: &mut Rng,
    progress: &mut dyn FnMut(&EpochReport),
) -> Result<History, Error> {
    let mut copy = DynNetwork::from_view(net)?;
    let history = fit(&mut copy, train, val, config, rng, progress)?;
    copy.copy_to(net)?;
    Ok(history)
}

fn check_fit(net: &DynNetwork, train: &Dataset, config: &TrainConfig) -> Result<(), Error> {
    if train.is_empty() {
        return Err(Error::Config("no training samples".into()));
    }
    check_options(config, net.specs().len())?;
    config.augment.check(train)?;
    if config.batch == 0 {
        return Err(Error::Config("the batch size must be at least 1".into()));
    }
    if train.feature_count() != net.inputs() {
        return Err(Error::Config(format!(
            "the data has {} features, the network takes {} inputs",
            train.feature_count(),
            net.inputs()
        )));
    }
    if train.task.outputs() != net.outputs() {
        return Err(Error::Config(format!(
            "the targets have {} values per sample, the network gives {} outputs",
            train.task.outputs(),
            net.outputs()
        )));
    }
    Ok(())
}

/// Checks the options of `config` that do not depend on the data, for a network of `layers`
/// layers: each says which option and value is wrong.
///
/// # Errors
/// [`Error::Config`].
pub fn check_options(config: &TrainConfig, layers: usize) -> Result<(), Error> {
    let bad = |message: String| Err(Error::Config(message));
    let GradientRules { l2, clip } = config.gradient;
    if !(l2.is_finite() && l2 >= 0.0) {
        return bad(format!("--l2 must be 0 or more, not {l2}"));
    }
    match clip {
        Clip::Norm(n) if !(n.is_finite() && n > 0.0) => {
            return bad(format!("--clip-norm must be above 0, not {n}"));
        }
        Clip::Value(v) if !(v.is_finite() && v > 0.0) => {
            return bad(format!("--clip-value must be above 0, not {v}"));
        }
        _ => {}
    }
    let decay = config.weight_decay;
    if !(decay.is_finite() && decay >= 0.0) {
        return bad(format!("--weight-decay must be 0 or more, not {decay}"));
    }
    config.schedule.check(config.epochs).map_err(Error::Config)?;
    for (l, &rate) in config.dropout.iter().enumerate() {
        check_fraction(&format!("the dropout of layer {}", l + 1), rate)?;
        if rate > 0.0 && l + 1 >= layers {
            return bad(format!(
                "layer {} is the output layer: dropout applies to hidden layers only",
                l + 1
            ));
        }
    }
    Ok(())
}

//! The search for the best network that fits a board's budget: depths, widths and hidden
//! activations (and int8 against f32), each candidate's cost predicted by [`crate::cost`]
//! before it is trained, those within the budget trained and scored on a validation split,
//! two at a time, and the Pareto front of score against cost.
//!
//! Deterministic by seed: the candidates are listed in a fixed order and shuffled by the
//! seed, each trains with a generator seeded from the seed and its place in the list (one
//! thread each), so a candidate's result does not depend on which worker trains it or
//! when; a time limit decides only how long a prefix of the shuffled list is evaluated.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use nn_core::{Activation, Init, LayerSpec, ModelKind};

use crate::cost::{Calibration, Cost};
use crate::data::Dataset;
use crate::error::Error;
use crate::metrics::evaluate;
use crate::network::DynNetwork;
use crate::quantize::{QNetwork, compare, quantize};
use crate::rng::Rng;
use crate::train::{TrainConfig, fit};

/// The networks the search may try.
#[derive(Clone, Debug, PartialEq)]
pub struct Space {
    /// Most hidden layers (0: the output layer alone, a linear or logistic model).
    pub max_depth: usize,
    /// Widths a hidden layer may have.
    pub widths: Vec<u16>,
    /// Activations of the hidden layers (one per network, as is usual).
    pub activations: Vec<Activation>,
    /// Kinds of weight file to consider.
    pub kinds: Vec<ModelKind>,
}

impl Space {
    /// Up to three hidden layers of 2 to 128 units (no wider than `capacity`, the widest
    /// layer the board's firmware runs), ReLU, tanh or sigmoid, of `kinds`.
    pub fn up_to(capacity: usize, kinds: Vec<ModelKind>) -> Space {
        Space {
            max_depth: 3,
            widths: [2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128]
                .into_iter()
                .filter(|&w| usize::from(w) <= capacity)
                .collect(),
            activations: vec![Activation::Relu, Activation::Tanh, Activation::Sigmoid],
            kinds,
        }
    }

    /// Every network of the space for `inputs` features and the output layer `output`
    /// (units and activation), in a fixed order: by depth, then widths (each layer no wider
    /// than the one before, as such networks usually are), then activation.
    pub fn shapes(&self, inputs: u16, output: (u16, Activation)) -> Vec<Vec<LayerSpec>> {
        let mut shapes = Vec::new();
        for depth in 0..=self.max_depth {
            let activations: &[Activation] = if depth == 0 {
                &[Activation::Identity]
            } else {
                &self.activations
            };
            for widths in non_increasing(&self.widths, depth) {
                for &activation in activations {
                    let mut specs = Vec::with_capacity(depth + 1);
                    let mut width = inputs;
                    for &units in &widths {
                        specs.push(LayerSpec {
                            inputs: width,
                            outputs: units,
                            activation,
                        });
                        width = units;
                    }
                    specs.push(LayerSpec {
                        inputs: width,
                        outputs: output.0,
                        activation: output.1,
                    });
                    shapes.push(specs);
                }
            }
        }
        shapes
    }
}

/// Every list of `depth` widths from `widths` (ascending), each no wider than the one
/// before.
fn non_increasing(widths: &[u16], depth: usize) -> Vec<Vec<u16>> {
    let mut lists = vec![Vec::new()];
    for _ in 0..depth {
        lists = lists
            .into_iter()
            .flat_map(|list: Vec<u16>| {
                let most = list.last().copied().unwrap_or(u16::MAX);
                widths.iter().filter(move |&&w| w <= most).map(move |&w| {
                    let mut next = list.clone();
                    next.push(w);
                    next
                })
            })
            .collect();
    }
    lists
}

/// What a network may cost: any limit left `None` is not checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    /// Instructions per inference.
    pub instructions: Option<u64>,
    /// Bytes of the weight file.
    pub flash_bytes: Option<usize>,
    /// Bytes of RAM per inference.
    pub ram_bytes: Option<usize>,
}

impl Budget {
    /// Whether `cost` is within the budget, the predicted instructions counted with the
    /// model's `margin` (its largest relative error on held-out shapes) on top, so that the
    /// measured count stays within the budget where the model is no worse than that.
    pub fn admits(&self, cost: &Cost, margin: f64) -> bool {
        let insns = cost.instructions as f64 * (1.0 + margin);
        self.instructions.is_none_or(|most| insns <= most as f64)
            && self.flash_bytes.is_none_or(|most| cost.flash_bytes <= most)
            && self.ram_bytes.is_none_or(|most| cost.ram_bytes <= most)
    }
}

/// The bytes of the weight file a network of these layers and this kind would have (its
/// name, normalization, test vectors and names as the search will write them).
pub type FileBytes<'a> = dyn Fn(&[LayerSpec], ModelKind) -> Result<usize, Error> + 'a;

/// What one candidate's evaluation gave, kept in the candidate's place until all are done.
type Slot = Option<Result<Vec<Evaluated>, Error>>;

/// One network of one kind the search will train, with what it is predicted to cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Its place in [`Space::shapes`]' order (its training seed derives from it).
    pub index: usize,
    /// Its layers.
    pub specs: Vec<LayerSpec>,
    /// The kinds to score it as (int8 where every hidden layer is one int8 has: linear, ReLU,
    /// tanh or sigmoid),
    /// each with its cost.
    pub kinds: Vec<(ModelKind, Cost)>,
}

/// The candidates within `budget`, shuffled by `rng`: each shape of `shapes` with the kinds
/// of `space` whose cost (`calibration` of the kind, the weight file's bytes from
/// `file_bytes`) the budget admits.
///
/// # Errors
/// What `file_bytes` returns.
pub fn candidates(
    space: &Space,
    shapes: Vec<Vec<LayerSpec>>,
    calibrations: &[&Calibration],
    budget: &Budget,
    file_bytes: &FileBytes<'_>,
    rng: &mut Rng,
) -> Result<Vec<Candidate>, Error> {
    let mut list = Vec::new();
    for (index, specs) in shapes.into_iter().enumerate() {
        let mut kinds = Vec::new();
        for &kind in &space.kinds {
            let int8_able = specs[..specs.len() - 1]
                .iter()
                .all(|s| nn_core::format::hidden_activation_supported(s.activation));
            if kind == ModelKind::Int8 && !int8_able {
                continue;
            }
            let Some(calibration) = calibrations.iter().find(|c| c.kind == kind) else {
                continue;
            };
            let cost = Cost::of(calibration, &specs, file_bytes(&specs, kind)?);
            if budget.admits(&cost, calibration.held_out.max) {
                kinds.push((kind, cost));
            }
        }
        if !kinds.is_empty() {
            list.push(Candidate { index, specs, kinds });
        }
    }
    rng.shuffle(&mut list);
    Ok(list)
}

/// How well a trained network does on the validation split.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    /// Accuracy (classifiers).
    pub accuracy: Option<f64>,
    /// Mean squared error.
    pub mse: f64,
}

impl Score {
    /// Whether `self` is better than `other`: higher accuracy for a classifier, else lower
    /// mean squared error.
    pub fn better_than(&self, other: &Score) -> bool {
        match (self.accuracy, other.accuracy) {
            (Some(a), Some(b)) => a > b,
            _ => self.mse < other.mse,
        }
    }

    /// The figure compared: accuracy, or mean squared error.
    pub fn value(&self) -> f64 {
        self.accuracy.unwrap_or(self.mse)
    }
}

/// A candidate trained and scored as one kind.
#[derive(Clone, Debug)]
pub struct Evaluated {
    /// The candidate's place in [`Space::shapes`]' order.
    pub index: usize,
    /// Its layers.
    pub specs: Vec<LayerSpec>,
    /// The kind scored.
    pub kind: ModelKind,
    /// Its predicted cost.
    pub cost: Cost,
    /// Its score on the validation split.
    pub score: Score,
    /// The trained network (f32; the int8 one is quantized from it).
    pub net: DynNetwork,
    /// The quantized network (int8).
    pub qnet: Option<QNetwork>,
}

/// What every candidate is trained with.
#[derive(Clone, Debug)]
pub struct Training<'a> {
    /// The training split, normalized.
    pub train: &'a Dataset,
    /// The validation split, normalized: early stopping and the score.
    pub val: &'a Dataset,
    /// How to train (its dropout rate, if any, applies to every hidden layer).
    pub config: &'a TrainConfig,
    /// The hidden layers' dropout rate.
    pub dropout: f32,
    /// Weight initialization.
    pub init: Init,
    /// The search's seed.
    pub seed: u64,
}

/// Trains `candidate` and scores it as each of its kinds.
///
/// # Errors
/// As [`fit`] and [`quantize`].
pub fn evaluate_candidate(candidate: &Candidate, training: &Training<'_>) -> Result<Vec<Evaluated>, Error> {
    let mut rng = Rng::new(training.seed ^ (candidate.index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut net = DynNetwork::new(candidate.specs.clone())?;
    net.init(training.init, &mut rng);
    let hidden = candidate.specs.len() - 1;
    let config = TrainConfig {
        threads: 1,
        dropout: (0..=hidden)
            .map(|l| if l < hidden { training.dropout } else { 0.0 })
            .collect(),
        ..training.config.clone()
    };
    let val = (!training.val.is_empty()).then_some(training.val);
    fit(&mut net, training.train, val, &config, &mut rng, &mut |_| {})?;
    let mut results = Vec::new();
    for &(kind, cost) in &candidate.kinds {
        let (score, qnet) = if kind == ModelKind::Int8 {
            let qnet = quantize(&net, training.train)?;
            let c = compare(&net, &qnet, training.val);
            // Rounded as the f32 network's figures are, so that equal counts compare equal.
            let accuracy = c.classification.then_some(f64::from(c.accuracy_int8 as f32));
            (
                Score {
                    accuracy,
                    mse: f64::from(c.mse_int8 as f32),
                },
                Some(qnet),
            )
        } else {
            let m = evaluate(&net, training.val, training.config.loss);
            (
                Score {
                    accuracy: m.accuracy.map(f64::from),
                    mse: f64::from(m.mse),
                },
                None,
            )
        };
        results.push(Evaluated {
            index: candidate.index,
            specs: candidate.specs.clone(),
            kind,
            cost,
            score,
            net: net.clone(),
            qnet,
        });
    }
    Ok(results)
}

/// Evaluates `candidates` in order on `workers` threads until `stop` says so (asked before
/// each candidate is started; those started finish) or all are done, telling `progress`
/// the number done and the results of each as it finishes (one at a time). Returns the results of the candidates evaluated (always a
/// prefix of `candidates`), in that order.
///
/// # Errors
/// The first candidate's error, as [`evaluate_candidate`].
pub fn run(
    candidates: &[Candidate],
    training: &Training<'_>,
    workers: usize,
    stop: &(dyn Fn() -> bool + Sync),
    progress: &(dyn Fn(usize, &[Evaluated]) + Sync),
) -> Result<Vec<Evaluated>, Error> {
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Slot>> = Mutex::new((0..candidates.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| {
                loop {
                    if stop() {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(candidate) = candidates.get(i) else { break };
                    let result = evaluate_candidate(candidate, training);
                    let mut done = done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if let Ok(evaluated) = &result {
                        progress(done.iter().filter(|r| r.is_some()).count() + 1, evaluated);
                    }
                    done[i] = Some(result);
                }
            });
        }
    });
    let done = done
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut results = Vec::new();
    for result in done.into_iter().map_while(|r| r) {
        results.extend(result?);
    }
    Ok(results)
}

/// The results on the Pareto front: no other result has a score at least as good and a
/// cost at least as low in instructions, flash and RAM, and better in one of these. In
/// order of instructions.
pub fn pareto_front(results: &[Evaluated]) -> Vec<usize> {
    let at_least = |a: &Evaluated, b: &Evaluated| {
        !b.score.better_than(&a.score)
            && a.cost.instructions <= b.cost.instructions
            && a.cost.flash_bytes <= b.cost.flash_bytes
            && a.cost.ram_bytes <= b.cost.ram_bytes
    };
    let strictly = |a: &Evaluated, b: &Evaluated| {
        a.score.better_than(&b.score)
            || a.cost.instructions < b.cost.instructions
            || a.cost.flash_bytes < b.cost.flash_bytes
            || a.cost.ram_bytes < b.cost.ram_bytes
    };
    let mut front: Vec<usize> = (0..results.len())
        .filter(|&i| {
            !results
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && at_least(other, &results[i]) && strictly(other, &results[i]))
        })
        .collect();
    front.sort_by_key(|&i| {
        (
            results[i].cost.instructions,
            results[i].index,
            results[i].kind.name(),
        )
    });
    front
}

/// The best result: the best score, then the fewest instructions, then the earlier shape
/// (f32 before int8).
pub fn best(results: &[Evaluated]) -> Option<usize> {
    (0..results.len()).reduce(|best, i| {
        let (a, b) = (&results[i], &results[best]);
        let tie = !a.score.better_than(&b.score) && !b.score.better_than(&a.score);
        let key = |e: &Evaluated| (e.cost.instructions, e.index, e.kind == ModelKind::Int8);
        if a.score.better_than(&b.score) || (tie && key(a) < key(b)) {
            i
        } else {
            best
        }
    })
}

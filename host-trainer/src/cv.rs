//! k-fold cross-validation: the data cut into k folds (stratified by class for a classifier,
//! seeded), each fold held out once while the others train, and the held-out metrics summed
//! up as mean ± standard deviation.

use nn_core::{Init, LayerSpec};
use serde::Serialize;

use crate::data::{Dataset, Normalize};
use crate::error::Error;
use crate::metrics::{Metrics, evaluate};
use crate::network::DynNetwork;
use crate::rng::Rng;
use crate::split::Splits;
use crate::train::{TrainConfig, fit};

/// One fold: the rows it trains on and the rows it holds out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fold {
    /// Rows of the other folds.
    pub train: Vec<usize>,
    /// The fold's own rows.
    pub test: Vec<usize>,
}

/// Cuts `data` into `k` folds whose sizes differ by at most one row: for a classifier each
/// class is shuffled and dealt round the folds in turn (so every fold holds each class in
/// its share, scikit-learn's `StratifiedKFold(shuffle=True)`), else the shuffled rows are
/// cut in order.
///
/// # Errors
/// [`Error::Config`] for `k` below 2 or above the number of rows.
pub fn folds(data: &Dataset, k: usize, rng: &mut Rng) -> Result<Vec<Fold>, Error> {
    if k < 2 || k > data.len() {
        return Err(Error::Config(format!(
            "--folds must be from 2 to the number of rows ({}), not {k}",
            data.len()
        )));
    }
    let mut order: Vec<usize> = (0..data.len()).collect();
    rng.shuffle(&mut order);
    if data.task.is_classification() && data.labels.len() == data.len() {
        // Stable by label: each class's rows stay in their shuffled order, classes in turn.
        order.sort_by_key(|&i| data.labels[i]);
    }
    let mut members = vec![Vec::new(); k];
    for (position, &row) in order.iter().enumerate() {
        members[position % k].push(row);
    }
    Ok((0..k)
        .map(|f| {
            let mut test = members[f].clone();
            test.sort_unstable();
            let mut train: Vec<usize> = (0..k)
                .filter(|&o| o != f)
                .flat_map(|o| members[o].clone())
                .collect();
            train.sort_unstable();
            Fold { train, test }
        })
        .collect())
}

/// The held-out result of one fold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FoldResult {
    /// The fold's number, from 1.
    pub fold: usize,
    /// Rows trained on.
    pub train_samples: usize,
    /// Rows held out.
    pub test_samples: usize,
    /// The loss on the held-out rows.
    pub loss: f32,
    /// Mean squared error there.
    pub mse: f32,
    /// Mean absolute error there.
    pub mae: f32,
    /// Accuracy there (classifiers).
    pub accuracy: Option<f32>,
    /// Epochs trained (fewer than asked if early stopping ended the run).
    pub epochs: usize,
}

impl FoldResult {
    /// The result of fold `fold` from its held-out metrics.
    pub fn new(fold: usize, train_samples: usize, metrics: &Metrics, epochs: usize) -> FoldResult {
        FoldResult {
            fold,
            train_samples,
            test_samples: metrics.samples,
            loss: metrics.loss,
            mse: metrics.mse,
            mae: metrics.mae,
            accuracy: metrics.accuracy,
            epochs,
        }
    }
}

/// The mean and standard deviation (over the folds, not of a sample: NumPy's `std`) of
/// one metric.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// Mean over the folds.
    pub mean: f64,
    /// Standard deviation over the folds.
    pub std: f64,
}

impl Spread {
    /// The spread of `values` (empty: zeros).
    pub fn of(values: impl Iterator<Item = f32> + Clone) -> Spread {
        let n = values.clone().count().max(1) as f64;
        let mean = values.clone().map(f64::from).sum::<f64>() / n;
        let variance = values.map(|v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
        Spread {
            mean,
            std: variance.sqrt(),
        }
    }
}

/// What `cv --json` prints: every fold and the spreads.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Each fold's held-out result.
    pub folds: Vec<FoldResult>,
    /// The held-out loss over the folds.
    pub loss: Spread,
    /// The held-out accuracy over the folds (classifiers).
    pub accuracy: Option<Spread>,
    /// The held-out mean squared error over the folds.
    pub mse: Spread,
}

impl Summary {
    /// The summary of these folds.
    pub fn of(folds: Vec<FoldResult>) -> Summary {
        let accuracy = folds
            .iter()
            .all(|f| f.accuracy.is_some())
            .then(|| Spread::of(folds.iter().filter_map(|f| f.accuracy)));
        Summary {
            loss: Spread::of(folds.iter().map(|f| f.loss)),
            mse: Spread::of(folds.iter().map(|f| f.mse)),
            accuracy,
            folds,
        }
    }
}

/// What is cross-validated: a network shape, how it starts, and how it is trained.
#[derive(Clone, Debug)]
pub struct CvSetup<'a> {
    /// The network's layers.
    pub specs: &'a [LayerSpec],
    /// Its initialization.
    pub init: Init,
    /// How to train it.
    pub config: &'a TrainConfig,
    /// The input normalization, fitted on each fold's training rows.
    pub normalize: Normalize,
    /// The share of each fold's training rows held out for validation (early stopping,
    /// the plateau schedule); 0 for none.
    pub val_share: f32,
    /// The number of folds.
    pub folds: usize,
}

/// Cross-validates `setup` on `raw` (rows as read): for each fold of [`folds`], a network
/// initialized and trained on the other folds, measured with nn-core's forward on the
/// fold; `each` is told every fold's result as it comes. Every draw comes from `rng`, so the
/// same seed gives the same results, with one thread or two.
///
/// # Errors
/// As [`folds`] and [`fit`].
pub fn cross_validate(
    raw: &Dataset,
    setup: &CvSetup<'_>,
    rng: &mut Rng,
    each: &mut dyn FnMut(&FoldResult, &Metrics),
) -> Result<Summary, Error> {
    let mut results = Vec::new();
    for (index, fold) in folds(raw, setup.folds, rng)?.iter().enumerate() {
        let splits = Splits::of(&raw.select(&fold.train), setup.val_share, setup.normalize, rng);
        let mut test = raw.select(&fold.test);
        if let Some(s) = &splits.scaling {
            s.apply(&mut test);
        }
        let mut net = DynNetwork::new(setup.specs.to_vec())?;
        net.init(setup.init, rng);
        let history = fit(
            &mut net,
            &splits.train,
            splits.validation(),
            setup.config,
            rng,
            &mut |_| {},
        )?;
        let metrics = evaluate(&net, &test, setup.config.loss);
        let result = FoldResult::new(index + 1, splits.train.len(), &metrics, history.loss.len());
        each(&result, &metrics);
        results.push(result);
    }
    Ok(Summary::of(results))
}

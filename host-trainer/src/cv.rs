//! k-fold cross-validation: the data cut into k folds (stratified by class for a classifier,
//! seeded), each fold held out once while the others train, and the held-out metrics summed
//! up as mean ± standard deviation.

use serde::Serialize;

use crate::data::Dataset;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::rng::Rng;

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

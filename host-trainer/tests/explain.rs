//! `explain`: on synthetic data whose target depends on known inputs, those rank first; the
//! saliency equals finite differences of the loss.

#![allow(clippy::unwrap_used)] // tests may unwrap

use host_trainer::explain::{explain, saliency};
use host_trainer::{Dataset, DynNetwork, Rng, Task, TrainConfig, fit};
use nn_core::{Init, Loss};

/// `samples` rows of 4 uniform features in [-1, 1] and a target from `f`.
fn synthetic(samples: usize, task: Task, f: impl Fn(&[f32]) -> f32) -> Dataset {
    let mut rng = Rng::new(42);
    let features: Vec<f32> = (0..samples * 4).map(|_| 2.0 * rng.uniform() - 1.0).collect();
    let values: Vec<f32> = features.chunks(4).map(&f).collect();
    let labels: Vec<usize> = if task.is_classification() {
        values.iter().map(|&v| v as usize).collect()
    } else {
        vec![]
    };
    let targets = match task {
        Task::Classes(n) => labels
            .iter()
            .flat_map(|&l| (0..n).map(move |c| f32::from(u8::from(c == l))))
            .collect(),
        _ => values,
    };
    Dataset {
        feature_names: (0..4).map(|i| format!("x{i}")).collect(),
        features,
        targets,
        labels,
        task,
        class_names: Vec::new(),
    }
}

fn trained(data: &Dataset, layers: &str, loss: Loss) -> DynNetwork {
    let mut net = DynNetwork::from_spec(4, layers).unwrap();
    net.init(Init::GlorotUniform, &mut Rng::new(1));
    let config = TrainConfig {
        epochs: 150,
        ..TrainConfig::new(loss)
    };
    fit(&mut net, data, None, &config, &mut Rng::new(2), &mut |_| {}).unwrap();
    net
}

fn top_two(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut top: Vec<String> = names.take(2).collect();
    top.sort();
    top
}

#[test]
fn the_inputs_a_regression_target_depends_on_rank_first() {
    let data = synthetic(600, Task::Regression, |x| 2.0 * x[0] - 1.5 * x[2]);
    let net = trained(&data, "16:tanh,1:linear", Loss::MeanSquaredError);
    let explanation = explain(&net, &data, Loss::MeanSquaredError, 5, &mut Rng::new(3));
    assert_eq!(explanation.metric, "mse");
    assert_eq!(
        top_two(explanation.features.iter().map(|f| f.feature.clone())),
        ["x0", "x2"]
    );
    let mut by_saliency = explanation.features.clone();
    by_saliency.sort_by(|a, b| b.saliency.total_cmp(&a.saliency));
    assert_eq!(
        top_two(by_saliency.iter().map(|f| f.feature.clone())),
        ["x0", "x2"]
    );
    let irrelevant = explanation
        .features
        .iter()
        .filter(|f| f.feature == "x1" || f.feature == "x3");
    assert!(
        irrelevant
            .clone()
            .all(|f| f.permutation.abs() < 0.05 * explanation.features[0].permutation),
        "{explanation:?}"
    );
}

#[test]
fn the_inputs_a_class_depends_on_rank_first() {
    let data = synthetic(600, Task::Classes(2), |x| f32::from(u8::from(x[1] + x[3] > 0.0)));
    let net = trained(&data, "8:relu,2:softmax", Loss::CrossEntropy);
    let explanation = explain(&net, &data, Loss::CrossEntropy, 5, &mut Rng::new(3));
    assert_eq!(explanation.metric, "accuracy");
    assert!(explanation.baseline > 0.95, "{explanation:?}");
    assert_eq!(
        top_two(explanation.features.iter().map(|f| f.feature.clone())),
        ["x1", "x3"]
    );
}

/// Saliency is mean |dL/dx|: the same as central differences of the loss of nn-core's
/// forward, computed here in f64 from f32 evaluations at a wide step.
#[test]
fn saliency_matches_finite_differences() {
    let data = synthetic(40, Task::Regression, |x| x[0] * x[1] + x[3]);
    let net = trained(&data, "8:tanh,1:linear", Loss::MeanSquaredError);
    let analytic = saliency(&net, &data, Loss::MeanSquaredError);
    let mut predictor = host_trainer::Predictor::new(&net);
    let h = 1e-2f32;
    for f in 0..4 {
        let mut total = 0.0f64;
        for i in 0..data.len() {
            let mut x = data.x(i).to_vec();
            x[f] += h;
            let plus = Loss::MeanSquaredError.value(predictor.predict(&net, &x), data.y(i));
            x[f] -= 2.0 * h;
            let minus = Loss::MeanSquaredError.value(predictor.predict(&net, &x), data.y(i));
            total += (f64::from(plus) - f64::from(minus)).abs() / (2.0 * f64::from(h));
        }
        let numeric = total / data.len() as f64;
        let diff = (f64::from(analytic[f]) - numeric).abs();
        assert!(
            diff <= 1e-3 + 1e-2 * numeric,
            "feature {f}: analytic {} numeric {numeric}",
            analytic[f]
        );
    }
}

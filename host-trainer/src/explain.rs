//! Which inputs matter: permutation importance and saliency (mean absolute input gradient).
//!
//! Both are computed with nn-core's code: predictions with its forward (`predict_view`),
//! input gradients with its backward kernels (`dense_backward`, `activation_backward`,
//! `loss_and_delta`), on the normalized inputs the network sees.

use nn_core::activation::activation_backward;
use nn_core::dense::{dense_backward, dense_layer};
use nn_core::{Activation, LayerView, Loss, loss_and_delta};
use serde::Serialize;

use crate::data::Dataset;
use crate::metrics::evaluate;
use crate::rng::Rng;

/// The importance of one input feature.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeatureImportance {
    /// Column name.
    pub feature: String,
    /// Mean drop of the metric (accuracy, or rise of the MSE for regression) when this
    /// feature is shuffled across samples.
    pub permutation: f32,
    /// Standard deviation of that drop over the repeats.
    pub permutation_std: f32,
    /// Mean |dLoss/dx| over the samples (normalized units).
    pub saliency: f32,
}

/// Importance of every feature, ranked by permutation importance (highest first).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    /// The metric permutation importance is measured in (`accuracy` or `mse`).
    pub metric: &'static str,
    /// The metric on the data as it is.
    pub baseline: f32,
    /// Shuffles per feature.
    pub repeats: usize,
    /// The features, most important first.
    pub features: Vec<FeatureImportance>,
}

/// The metric permutation importance watches, as "higher is better".
fn score(net: &dyn LayerView, data: &Dataset, loss: Loss) -> f32 {
    let metrics = evaluate(net, data, loss);
    metrics.accuracy.unwrap_or(-metrics.mse)
}

/// Explains `net` on `data` (features normalized as the network expects): permutation
/// importance over `repeats` seeded shuffles per feature, and saliency.
pub fn explain(
    net: &dyn LayerView,
    data: &Dataset,
    loss: Loss,
    repeats: usize,
    rng: &mut Rng,
) -> Explanation {
    let baseline = score(net, data, loss);
    let saliency = saliency(net, data, loss);
    let n = data.feature_count();
    let mut features: Vec<FeatureImportance> = (0..n)
        .map(|f| {
            let drops: Vec<f32> = (0..repeats.max(1))
                .map(|_| {
                    let mut order: Vec<usize> = (0..data.len()).collect();
                    rng.shuffle(&mut order);
                    let mut shuffled = data.clone();
                    for (i, &j) in order.iter().enumerate() {
                        shuffled.features[i * n + f] = data.features[j * n + f];
                    }
                    baseline - score(net, &shuffled, loss)
                })
                .collect();
            // Summed in f64, as every metric is.
            let count = drops.len().max(1) as f64;
            let mean = drops.iter().map(|&d| f64::from(d)).sum::<f64>() / count;
            let var = drops.iter().map(|&d| (f64::from(d) - mean).powi(2)).sum::<f64>() / count;
            FeatureImportance {
                feature: data.feature_names[f].clone(),
                permutation: mean as f32,
                permutation_std: var.sqrt() as f32,
                saliency: saliency[f],
            }
        })
        .collect();
    features.sort_by(|a, b| {
        b.permutation
            .total_cmp(&a.permutation)
            .then(b.saliency.total_cmp(&a.saliency))
    });
    let metric = if data.task.is_classification() {
        "accuracy"
    } else {
        "mse"
    };
    Explanation {
        metric,
        baseline: if metric == "mse" { -baseline } else { baseline },
        repeats,
        features,
    }
}

/// Mean |dLoss/dx| per feature, by nn-core's backward kernels, sample by sample.
pub fn saliency(net: &dyn LayerView, data: &Dataset, loss: Loss) -> Vec<f32> {
    let layers: Vec<_> = (0..net.layer_count()).filter_map(|i| net.layer(i)).collect();
    let mut sums = vec![0.0f64; data.feature_count()];
    let mut pre: Vec<Vec<f32>> = layers
        .iter()
        .map(|l| vec![0.0; usize::from(l.spec.outputs)])
        .collect();
    let mut out = pre.clone();
    for i in 0..data.len() {
        let x = data.x(i);
        for (l, layer) in layers.iter().enumerate() {
            let input: &[f32] = if l == 0 { x } else { &out[l - 1] };
            let mut z = vec![0.0; usize::from(layer.spec.outputs)];
            dense_layer(layer.weights, layer.bias, Activation::Identity, input, &mut z);
            let mut y = z.clone();
            nn_core::activation::activate(layer.spec.activation, &mut y);
            pre[l] = z;
            out[l] = y;
        }
        let last = layers.len() - 1;
        let mut grad = vec![0.0; out[last].len()];
        loss_and_delta(
            loss,
            layers[last].spec.activation,
            &pre[last],
            &out[last],
            data.y(i),
            &mut grad,
        );
        for l in (0..layers.len()).rev() {
            let input: &[f32] = if l == 0 { x } else { &out[l - 1] };
            let mut grad_w = vec![0.0; layers[l].weights.len()];
            let mut grad_b = vec![0.0; layers[l].bias.len()];
            let mut grad_x = vec![0.0; input.len()];
            dense_backward(
                layers[l].weights,
                input,
                &grad,
                &mut grad_w,
                &mut grad_b,
                &mut grad_x,
            );
            if l > 0 {
                activation_backward(layers[l - 1].spec.activation, &out[l - 1], &mut grad_x);
            }
            grad = grad_x;
        }
        for (s, g) in sums.iter_mut().zip(&grad) {
            *s += f64::from(g.abs());
        }
    }
    sums.iter()
        .map(|s| (s / data.len().max(1) as f64) as f32)
        .collect()
}

//! Metrics, computed with nn-core's forward (the code the board runs).

use nn_core::{LayerView, Loss};
use serde::Serialize;

use crate::data::{Dataset, Task};
use crate::network::Predictor;

/// How well a network does on a data set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metrics {
    /// Number of samples.
    pub samples: usize,
    /// Name of the loss.
    pub loss_name: &'static str,
    /// Mean loss.
    pub loss: f32,
    /// Mean squared error of the outputs against the targets.
    pub mse: f32,
    /// Mean absolute error of the outputs against the targets.
    pub mae: f32,
    /// Share of samples classified right (classification only).
    pub accuracy: Option<f32>,
    /// `confusion[true][predicted]` counts (classification only).
    pub confusion: Option<Vec<Vec<u32>>>,
}

/// The class a network's output stands for: arg-max, or `y >= 0.5` for one output.
pub fn predicted_class(output: &[f32]) -> usize {
    if output.len() == 1 {
        return usize::from(output[0] >= 0.5);
    }
    let mut best = 0;
    for (i, &v) in output.iter().enumerate() {
        if v > output[best] {
            best = i;
        }
    }
    best
}

/// A network with its scratch buffers, mapping one normalized input to its outputs with
/// nn-core's forward: an f32 network ([`NetForward`]) or an int8 one
/// ([`QForward`](crate::quantize::QForward)).
pub trait Forward {
    /// The outputs for `x`.
    fn forward(&mut self, x: &[f32]) -> &[f32];
}

/// An f32 network seen through the layer view, with its buffers.
pub struct NetForward<'n> {
    net: &'n dyn LayerView,
    predictor: Predictor,
}

impl<'n> NetForward<'n> {
    /// Buffers for `net`.
    pub fn new(net: &'n dyn LayerView) -> NetForward<'n> {
        NetForward {
            net,
            predictor: Predictor::new(net),
        }
    }
}

impl Forward for NetForward<'_> {
    fn forward(&mut self, x: &[f32]) -> &[f32] {
        self.predictor.predict(self.net, x)
    }
}

/// The metrics of `net` on `data` (features already normalized as the network expects).
pub fn evaluate(net: &dyn LayerView, data: &Dataset, loss: Loss) -> Metrics {
    evaluate_with(&mut NetForward::new(net), data, loss)
}

/// The metrics of any [`Forward`] (f32 or int8) on `data`.
pub fn evaluate_with(model: &mut dyn Forward, data: &Dataset, loss: Loss) -> Metrics {
    let classes = match data.task {
        Task::Regression => 0,
        Task::Binary => 2,
        Task::Classes(n) => n,
    };
    let mut confusion = vec![vec![0u32; classes]; classes];
    let (mut loss_sum, mut se, mut ae, mut right, mut values) = (0.0f64, 0.0f64, 0.0f64, 0usize, 0usize);
    for i in 0..data.len() {
        let y = model.forward(data.x(i));
        let t = data.y(i);
        loss_sum += f64::from(loss.value(y, t));
        for (y, t) in y.iter().zip(t) {
            se += f64::from((y - t) * (y - t));
            ae += f64::from((y - t).abs());
            values += 1;
        }
        if classes > 0 {
            let (truth, guess) = (data.labels[i], predicted_class(y));
            right += usize::from(truth == guess);
            if let Some(cell) = confusion.get_mut(truth).and_then(|row| row.get_mut(guess)) {
                *cell += 1;
            }
        }
    }
    let n = data.len().max(1) as f64;
    Metrics {
        samples: data.len(),
        loss_name: loss.name(),
        loss: (loss_sum / n) as f32,
        mse: (se / values.max(1) as f64) as f32,
        mae: (ae / values.max(1) as f64) as f32,
        accuracy: (classes > 0).then_some((right as f64 / n) as f32),
        confusion: (classes > 0).then_some(confusion),
    }
}

/// Mean loss of `net` on `data`, with nn-core's forward.
pub fn mean_loss(net: &dyn LayerView, data: &Dataset, loss: Loss) -> f32 {
    evaluate(net, data, loss).loss
}

//! On-device fine-tuning: plain SGD on part of a network, through the layer view, with no
//! heap (gradients go into a buffer of the network's own type; see
//! [`Trainable::accumulate_gradients`](crate::Trainable::accumulate_gradients)).

use crate::view::{LayerView, LayerViewMut};

/// Which parameters a fine-tuning step changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The last layer's weights and bias.
    LastLayer,
    /// Every layer's bias, and the last layer's weights (cheap, and the first layer's bias
    /// can absorb an offset on the inputs).
    BiasesAndLastLayer,
    /// Everything.
    All,
}

/// `params -= lr · grads` over the parameters `scope` selects. `grads` must have the
/// network's layers (e.g. a zeroed value of the network's type).
pub fn sgd_step(net: &mut dyn LayerViewMut, grads: &dyn LayerView, lr: f32, scope: Scope) {
    let last = net.layer_count().saturating_sub(1);
    for index in 0..net.layer_count() {
        let (Some(layer), Some(grad)) = (net.layer_mut(index), grads.layer(index)) else {
            continue;
        };
        let weights = scope == Scope::All || index == last;
        let bias = scope != Scope::LastLayer || index == last;
        if weights {
            layer
                .weights
                .iter_mut()
                .zip(grad.weights)
                .for_each(|(p, g)| *p -= lr * g);
        }
        if bias {
            layer
                .bias
                .iter_mut()
                .zip(grad.bias)
                .for_each(|(p, g)| *p -= lr * g);
        }
    }
}

/// Sets every parameter of `net` to zero (clears a gradient buffer in place).
pub fn zero(net: &mut dyn LayerViewMut) {
    for index in 0..net.layer_count() {
        if let Some(layer) = net.layer_mut(index) {
            layer
                .weights
                .iter_mut()
                .chain(layer.bias.iter_mut())
                .for_each(|p| *p = 0.0);
        }
    }
}

//! A batch's gradient between the backward pass and the optimizer, in Keras' order: the
//! summed gradient becomes the mean loss's, gains the L2 penalty's term (the penalty is part
//! of the loss), and is then clipped.

use std::ops::Range;

use nn_core::LayerSpec;

/// Gradient clipping (Keras' optimizer arguments; one at a time, as Keras asks).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Clip {
    /// No clipping.
    #[default]
    None,
    /// Keras' `clipnorm`: each tensor (each layer's kernel, each bias) scaled down to an L2
    /// norm of at most this.
    Norm(f32),
    /// Keras' `clipvalue`: every element clamped to `[-v, v]`.
    Value(f32),
}

/// What is done to each batch's gradient before the optimizer step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GradientRules {
    /// Keras' `kernel_regularizer=L2(l2)`: `l2 · Σ w²` over the kernels (not the biases) is
    /// added to the loss, `2 · l2 · w` to their gradient. 0 for none.
    pub l2: f32,
    /// Clipping of the resulting gradient.
    pub clip: Clip,
}

/// Each parameter tensor of a network of `specs` laid out at `offsets`: its range and whether
/// it is a kernel (else a bias).
pub fn tensors<'a>(
    specs: &'a [LayerSpec],
    offsets: &'a [usize],
) -> impl Iterator<Item = (Range<usize>, bool)> + 'a {
    specs
        .iter()
        .zip(offsets)
        .zip(&offsets[1..])
        .flat_map(|((spec, &start), &end)| {
            let kernel_end = start + spec.weight_count();
            [(start..kernel_end, true), (kernel_end..end, false)]
        })
}

/// The L2 penalty `l2 · Σ w²` over the kernels of `params` (0 when `l2` is 0).
pub fn l2_penalty(l2: f32, params: &[f32], specs: &[LayerSpec], offsets: &[usize]) -> f32 {
    if l2 == 0.0 {
        return 0.0;
    }
    let squares: f64 = tensors(specs, offsets)
        .filter(|(_, kernel)| *kernel)
        .flat_map(|(range, _)| &params[range])
        .map(|&w| f64::from(w) * f64::from(w))
        .sum();
    (f64::from(l2) * squares) as f32
}

/// Turns `grads`, the gradient of the loss summed over `count` samples, into the gradient of
/// the batch's mean loss plus the L2 penalty, clipped by `rules`.
pub fn finish(
    grads: &mut [f32],
    params: &[f32],
    count: usize,
    specs: &[LayerSpec],
    offsets: &[usize],
    rules: &GradientRules,
) {
    let scale = 1.0 / count as f32;
    grads.iter_mut().for_each(|g| *g *= scale);
    if rules.l2 != 0.0 {
        let twice = 2.0 * rules.l2;
        for (range, _) in tensors(specs, offsets).filter(|(_, kernel)| *kernel) {
            for (g, &w) in grads[range.clone()].iter_mut().zip(&params[range]) {
                *g += twice * w;
            }
        }
    }
    match rules.clip {
        Clip::None => {}
        Clip::Value(limit) => grads.iter_mut().for_each(|g| *g = g.clamp(-limit, limit)),
        Clip::Norm(limit) => {
            for (range, _) in tensors(specs, offsets) {
                let tensor = &mut grads[range];
                let norm = tensor
                    .iter()
                    .map(|&g| f64::from(g) * f64::from(g))
                    .sum::<f64>()
                    .sqrt();
                if norm > f64::from(limit) {
                    let factor = (f64::from(limit) / norm) as f32;
                    tensor.iter_mut().for_each(|g| *g *= factor);
                }
            }
        }
    }
}

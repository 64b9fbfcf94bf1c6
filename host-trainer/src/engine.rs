//! Batched forward and backward passes over a run-time-shaped network.
//!
//! The loops run over a whole mini-batch, with the weights transposed once per batch so the
//! innermost loop is a contiguous multiply-add over a layer's outputs (vectorised by the
//! compiler). Each output is still computed as nn-core's `dense_forward` does (bias, then
//! `+ w·x` in input order), so the batched forward gives nn-core's bits; reported metrics and
//! golden vectors come from nn-core's own forward all the same.

use nn_core::activation::{activate, activation_backward};
use nn_core::{LayerSpec, Loss, loss_and_delta};

/// Buffers for training one network shape on batches of up to `capacity` rows.
#[derive(Debug)]
pub struct Engine {
    specs: Vec<LayerSpec>,
    offsets: Vec<usize>,
    capacity: usize,
    /// Per layer, the weights transposed to `[in][out]`.
    transposed: Vec<Vec<f32>>,
    /// Per layer, pre-activations `[rows][out]`.
    pre: Vec<Vec<f32>>,
    /// Per layer, outputs `[rows][out]`.
    out: Vec<Vec<f32>>,
    /// dL/dz of the layer being back-propagated, `[rows][width]`.
    delta: Vec<f32>,
    /// dL/d(input) of that layer, becoming the next delta.
    grad_in: Vec<f32>,
}

impl Engine {
    /// Buffers for a network of `specs` (parameters laid out at `offsets`, as
    /// [`DynNetwork::offsets`](crate::DynNetwork::offsets)) and batches of up to `capacity` rows.
    pub fn new(specs: &[LayerSpec], offsets: &[usize], capacity: usize) -> Engine {
        let widest = specs
            .iter()
            .map(|s| usize::from(s.inputs.max(s.outputs)))
            .max()
            .unwrap_or(0);
        Engine {
            specs: specs.to_vec(),
            offsets: offsets.to_vec(),
            capacity,
            transposed: specs.iter().map(|s| vec![0.0; s.weight_count()]).collect(),
            pre: specs
                .iter()
                .map(|s| vec![0.0; capacity * usize::from(s.outputs)])
                .collect(),
            out: specs
                .iter()
                .map(|s| vec![0.0; capacity * usize::from(s.outputs)])
                .collect(),
            delta: vec![0.0; capacity * widest],
            grad_in: vec![0.0; capacity * widest],
        }
    }

    /// Largest batch these buffers take.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Forward pass of `rows` samples `x` (`[rows][inputs]`) with parameters `params`.
    pub fn forward(&mut self, params: &[f32], x: &[f32], rows: usize) {
        let rows = rows.min(self.capacity);
        for (l, spec) in self.specs.iter().enumerate() {
            let (n_in, n_out) = (usize::from(spec.inputs), usize::from(spec.outputs));
            let layer = &params[self.offsets[l]..self.offsets[l + 1]];
            let (weights, bias) = layer.split_at(n_in * n_out);
            let transposed = &mut self.transposed[l];
            for (o, row) in weights.chunks_exact(n_in).enumerate() {
                for (i, &w) in row.iter().enumerate() {
                    transposed[i * n_out + o] = w;
                }
            }
            let (before, rest) = self.out.split_at_mut(l);
            let input: &[f32] = if l == 0 { x } else { &before[l - 1] };
            let pre = &mut self.pre[l];
            let out = &mut rest[0];
            for b in 0..rows {
                let z = &mut pre[b * n_out..(b + 1) * n_out];
                z.copy_from_slice(bias);
                for (&xi, column) in input[b * n_in..(b + 1) * n_in]
                    .iter()
                    .zip(transposed.chunks_exact(n_out))
                {
                    for (z, &w) in z.iter_mut().zip(column) {
                        *z += w * xi;
                    }
                }
                let y = &mut out[b * n_out..(b + 1) * n_out];
                y.copy_from_slice(z);
                activate(spec.activation, y);
            }
        }
    }

    /// The network's outputs after [`Engine::forward`], `[rows][outputs]`.
    pub fn outputs(&self, rows: usize) -> &[f32] {
        let last = self.out.len() - 1;
        let n_out = usize::from(self.specs[last].outputs);
        &self.out[last][..rows.min(self.capacity) * n_out]
    }

    /// Backward pass after [`Engine::forward`] on the same `x`: adds the gradients of the
    /// summed loss over the `rows` samples into `grads` (laid out as the parameters) and
    /// returns that sum. The output layer's delta is nn-core's fused [`loss_and_delta`].
    pub fn backward(
        &mut self,
        params: &[f32],
        x: &[f32],
        targets: &[f32],
        rows: usize,
        loss: Loss,
        grads: &mut [f32],
    ) -> f32 {
        let rows = rows.min(self.capacity);
        let last = self.specs.len() - 1;
        let n_out = usize::from(self.specs[last].outputs);
        let mut total = 0.0;
        for b in 0..rows {
            let span = b * n_out..(b + 1) * n_out;
            total += loss_and_delta(
                loss,
                self.specs[last].activation,
                &self.pre[last][span.clone()],
                &self.out[last][span.clone()],
                &targets[span.clone()],
                &mut self.delta[span],
            );
        }
        for l in (0..self.specs.len()).rev() {
            let spec = self.specs[l];
            let (n_in, n_out) = (usize::from(spec.inputs), usize::from(spec.outputs));
            let input: &[f32] = if l == 0 { x } else { &self.out[l - 1] };
            let (grad_w, grad_b) = grads[self.offsets[l]..self.offsets[l + 1]].split_at_mut(n_in * n_out);
            for b in 0..rows {
                let delta = &self.delta[b * n_out..(b + 1) * n_out];
                let x_b = &input[b * n_in..(b + 1) * n_in];
                for ((&d, gb), gw) in delta
                    .iter()
                    .zip(grad_b.iter_mut())
                    .zip(grad_w.chunks_exact_mut(n_in))
                {
                    *gb += d;
                    for (gw, &xi) in gw.iter_mut().zip(x_b) {
                        *gw += d * xi;
                    }
                }
            }
            if l == 0 {
                break;
            }
            let weights = &params[self.offsets[l]..self.offsets[l] + n_in * n_out];
            let previous = self.specs[l - 1].activation;
            for b in 0..rows {
                let delta = &self.delta[b * n_out..(b + 1) * n_out];
                let grad = &mut self.grad_in[b * n_in..(b + 1) * n_in];
                grad.iter_mut().for_each(|g| *g = 0.0);
                for (&d, row) in delta.iter().zip(weights.chunks_exact(n_in)) {
                    for (g, &w) in grad.iter_mut().zip(row) {
                        *g += d * w;
                    }
                }
                activation_backward(previous, &self.out[l - 1][b * n_in..(b + 1) * n_in], grad);
            }
            std::mem::swap(&mut self.delta, &mut self.grad_in);
        }
        total
    }
}

//! Batched forward and backward passes over a run-time-shaped network.
//!
//! Activations are stored feature-major, `[feature][sample]`, with the batch padded to a
//! multiple of [`LANES`]; the matrix products run in register tiles ([`crate::gemm`]). Each
//! pre-activation is computed as nn-core's `dense_forward` does (bias, then `+ w·x` in input
//! order), so with linear, ReLU, leaky ReLU and softmax layers the batched forward gives
//! nn-core's bits; tanh and sigmoid use vectorised approximations a few ulp from libm
//! ([`crate::fastmath`]). Reported metrics and golden vectors come from nn-core's forward
//! either way. Sums over the batch (gradients) run in a fixed order: same inputs, same bits.

use nn_core::activation::{SoftmaxSums, activation_backward, softmax_with_sums};
use nn_core::loss::loss_and_delta_given;
use nn_core::{Activation, LayerSpec, Loss};

use crate::fastmath;
use crate::gemm::{Accumulate, Panel, Strided, gemm, store};

/// Samples processed together in the innermost loops.
pub const LANES: usize = 16;

/// Buffers for training one network shape on batches of up to `capacity` rows.
#[derive(Debug)]
pub struct Engine {
    specs: Vec<LayerSpec>,
    offsets: Vec<usize>,
    capacity: usize,
    /// Batch capacity rounded up to whole blocks: the stride of every feature row.
    stride: usize,
    /// The batch's inputs, `[input][stride]` (padding lanes zero), turned from `input_rows`
    /// by the forward pass.
    input: Vec<f32>,
    /// The batch's inputs as loaded, sample by sample, `[stride][inputs rounded up to
    /// LANES]`, if [`loads_rows`]: the first layer's weight gradient reads them so, and the
    /// forward pass turns them to `input` in register squares, cheaper than storing each
    /// value at its own place. Else empty, and samples are stored into `input` value by value.
    input_rows: Vec<f32>,
    /// Per layer, the operand of its weight gradient turned sample-major: its input,
    /// `[stride][inputs rounded up to LANES]` (empty for a first layer that
    /// [`loads_rows`]), or its delta, `[stride][outputs rounded up]` (see
    /// [`transposes_outputs`]).
    samples: Vec<Vec<f32>>,
    /// The weight gradient of a layer that transposes its delta, `[input][output]`.
    swapped: Vec<f32>,
    /// The batch's targets, `[sample][outputs]`.
    targets: Vec<f32>,
    /// Per layer, pre-activations `[out][stride]`.
    pre: Vec<Vec<f32>>,
    /// Per layer, outputs `[out][stride]`.
    out: Vec<Vec<f32>>,
    /// dL/dz of the layer being back-propagated, `[width][stride]`.
    delta: Vec<f32>,
    /// dL/d(input) of that layer, becoming the next delta.
    grad_in: Vec<f32>,
    /// One sample's values across a layer (softmax and the loss work per sample).
    column: [Vec<f32>; 3],
    /// Per layer, the dropout rate of its outputs (0: none).
    dropout: Vec<f32>,
    /// Per layer with dropout, its outputs before dropout `[out][stride]` (else empty).
    kept: Vec<Vec<f32>>,
    /// Per layer with dropout, each output's factor, 0 or `1 / (1 - rate)` (else empty).
    masks: Vec<Vec<f32>>,
    /// Per row, the key of its dropout masks ([`crate::dropout::row_key`]).
    row_keys: Vec<u64>,
    /// Per row, the weight of its loss (empty: all 1).
    row_weights: Vec<f32>,
    /// Per row, the sums of the last softmax the forward pass computed: the output layer's,
    /// if it is a softmax (only then are they read), which its cross-entropy reuses instead
    /// of computing every exponential again.
    softmax_sums: Vec<SoftmaxSums>,
    /// The matrix kernel's scratch space.
    panel: Panel,
}

impl Engine {
    /// Buffers for a network of `specs` (parameters laid out at `offsets`, as
    /// [`DynNetwork::offsets`](crate::DynNetwork::offsets)) and batches of up to `capacity` rows.
    pub fn new(specs: &[LayerSpec], offsets: &[usize], capacity: usize) -> Engine {
        let stride = capacity.div_ceil(LANES).max(1) * LANES;
        let widest = specs
            .iter()
            .map(|s| usize::from(s.inputs.max(s.outputs)))
            .max()
            .unwrap_or(0);
        let (n_in, n_out) = (
            usize::from(specs[0].inputs),
            usize::from(specs[specs.len() - 1].outputs),
        );
        let rows = |s: &LayerSpec| vec![0.0; stride * usize::from(s.outputs)];
        Engine {
            specs: specs.to_vec(),
            offsets: offsets.to_vec(),
            capacity,
            stride,
            input: vec![0.0; stride * n_in],
            input_rows: if loads_rows(&specs[0]) {
                vec![0.0; stride * n_in.div_ceil(LANES) * LANES]
            } else {
                Vec::new()
            },
            samples: specs
                .iter()
                .enumerate()
                .map(|(l, s)| {
                    let (n_in, n_out) = (usize::from(s.inputs), usize::from(s.outputs));
                    let lanes = match (transposes_outputs(n_in, n_out), l) {
                        (true, _) => n_out,
                        (false, 0) if loads_rows(s) => 0, // input_rows
                        (false, _) => n_in,
                    };
                    vec![0.0; stride * lanes.div_ceil(LANES) * LANES]
                })
                .collect(),
            swapped: vec![
                0.0;
                specs
                    .iter()
                    .filter(|s| transposes_outputs(usize::from(s.inputs), usize::from(s.outputs)))
                    .map(LayerSpec::weight_count)
                    .max()
                    .unwrap_or(0)
            ],
            targets: vec![0.0; capacity * n_out],
            pre: specs.iter().map(rows).collect(),
            out: specs.iter().map(rows).collect(),
            delta: vec![0.0; stride * widest],
            grad_in: vec![0.0; stride * widest],
            column: [vec![0.0; widest], vec![0.0; widest], vec![0.0; widest]],
            dropout: vec![0.0; specs.len()],
            kept: vec![Vec::new(); specs.len()],
            masks: vec![Vec::new(); specs.len()],
            row_keys: vec![0; capacity],
            row_weights: Vec::new(),
            softmax_sums: vec![SoftmaxSums { max: 0.0, sum: 0.0 }; capacity],
            panel: Panel::default(),
        }
    }

    /// Applies dropout at `rates[l]` to the outputs of layer `l` in training (a missing or
    /// zero rate: none). The rows' masks come from the keys given to [`Engine::set_row`].
    pub fn set_dropout(&mut self, rates: &[f32]) {
        for (l, spec) in self.specs.iter().enumerate() {
            let rate = rates.get(l).copied().unwrap_or(0.0);
            let size = if rate > 0.0 {
                self.stride * usize::from(spec.outputs)
            } else {
                0
            };
            self.dropout[l] = rate;
            self.kept[l] = vec![0.0; size];
            self.masks[l] = vec![0.0; size];
        }
    }

    /// Weights each row's loss (and so its gradient) by the weight given to
    /// [`Engine::set_row`] (class weights), instead of 1.
    pub fn weight_rows(&mut self) {
        self.row_weights = vec![1.0; self.capacity];
    }

    /// Gives row `row` its dropout key and its loss weight (used if [`Engine::weight_rows`]).
    pub fn set_row(&mut self, row: usize, key: u64, weight: f32) {
        self.row_keys[row] = key;
        if let Some(w) = self.row_weights.get_mut(row) {
            *w = weight;
        }
    }

    /// Loads sample `x` with targets `t` as row `row` of the batch.
    pub fn set_sample(&mut self, row: usize, x: &[f32], t: &[f32]) {
        let padded = self.input_rows.len() / self.stride;
        if padded == 0 {
            for (i, &v) in x.iter().enumerate() {
                self.input[i * self.stride + row] = v;
            }
        } else {
            self.input_rows[row * padded..row * padded + x.len()].copy_from_slice(x);
        }
        self.targets[row * t.len()..(row + 1) * t.len()].copy_from_slice(t);
    }

    /// Zeroes the input lanes from `rows` on, so a short last batch computes nothing stale.
    fn clear_padding(&mut self, rows: usize) {
        for row in self.input.chunks_exact_mut(self.stride) {
            row[rows..].iter_mut().for_each(|v| *v = 0.0);
        }
    }

    /// Forward pass of the first `rows` samples loaded with [`Engine::set_sample`].
    pub fn forward(&mut self, params: &[f32], rows: usize) {
        let rows = rows.min(self.capacity);
        let (stride, active) = (self.stride, active_lanes(rows));
        let padded = self.input_rows.len() / stride;
        if padded > 0 {
            let n_in = usize::from(self.specs[0].inputs);
            let samples = &self.input_rows[..active * padded];
            transpose(samples, padded, n_in, &mut self.input, stride);
        }
        self.clear_padding(rows);
        for (l, spec) in self.specs.iter().enumerate() {
            let (n_in, n_out) = (usize::from(spec.inputs), usize::from(spec.outputs));
            let (weights, bias) = params[self.offsets[l]..self.offsets[l + 1]].split_at(n_in * n_out);
            let (before, rest) = self.out.split_at_mut(l);
            let input: &[f32] = if l == 0 { &self.input } else { &before[l - 1] };
            let (pre, out) = (&mut self.pre[l], &mut rest[0]);
            let w = Strided {
                data: weights,
                row_stride: n_in,
                col_stride: 1,
            };
            gemm(
                n_out,
                n_in,
                w,
                input,
                stride,
                active,
                active,
                pre,
                stride,
                Accumulate::FromBias(bias),
                &mut self.panel,
            );
            for (pre, out) in pre.chunks_exact(stride).zip(out.chunks_exact_mut(stride)) {
                activate_batch(spec.activation, &pre[..active], &mut out[..active]);
            }
            if spec.activation == Activation::Softmax {
                let sums = &mut self.softmax_sums;
                per_sample(out, n_out, stride, rows, &mut self.column[0], |r, y| {
                    sums[r] = softmax_with_sums(y);
                });
            }
            let rate = self.dropout[l];
            if rate > 0.0 {
                self.kept[l].copy_from_slice(out);
                let mask = &mut self.masks[l];
                for (unit, (out_row, mask_row)) in out
                    .chunks_exact_mut(stride)
                    .zip(mask.chunks_exact_mut(stride))
                    .enumerate()
                {
                    for ((y, m), &key) in out_row
                        .iter_mut()
                        .zip(mask_row.iter_mut())
                        .zip(&self.row_keys[..rows])
                    {
                        *m = crate::dropout::keep_scale(key, l, unit, rate);
                        *y *= *m;
                    }
                }
            }
        }
    }

    /// Backward pass after [`Engine::forward`]: writes the gradients of the summed loss over
    /// the `rows` samples into `grads` (laid out as the parameters; every element written,
    /// nothing read) and returns that sum.
    /// The output layer's delta is nn-core's fused [`loss_and_delta_given`] (a softmax output
    /// hands it the forward pass's sums).
    pub fn backward(&mut self, params: &[f32], rows: usize, loss: Loss, grads: &mut [f32]) -> f32 {
        let rows = rows.min(self.capacity);
        let (stride, active) = (self.stride, active_lanes(rows));
        let last = self.specs.len() - 1;
        let n_out = usize::from(self.specs[last].outputs);
        let mut total = 0.0;
        self.delta[..n_out * stride].iter_mut().for_each(|d| *d = 0.0);
        let [z, y, d] = &mut self.column;
        for r in 0..rows {
            for o in 0..n_out {
                z[o] = self.pre[last][o * stride + r];
                y[o] = self.out[last][o * stride + r];
            }
            let t = &self.targets[r * n_out..(r + 1) * n_out];
            let (z, y, d) = (&z[..n_out], &y[..n_out], &mut d[..n_out]);
            let activation = self.specs[last].activation;
            let softmax = (activation == Activation::Softmax).then(|| self.softmax_sums[r]);
            let sample_loss = loss_and_delta_given(loss, activation, softmax, z, y, t, d);
            if let Some(&weight) = self.row_weights.get(r) {
                total += weight * sample_loss;
                d[..n_out].iter_mut().for_each(|d| *d *= weight);
            } else {
                total += sample_loss;
            }
            for (row, &d) in self.delta.chunks_exact_mut(stride).zip(&d[..n_out]) {
                row[r] = d;
            }
        }
        for l in (0..self.specs.len()).rev() {
            let spec = self.specs[l];
            let (n_in, n_out) = (usize::from(spec.inputs), usize::from(spec.outputs));
            let input: &[f32] = if l == 0 { &self.input } else { &self.out[l - 1] };
            let (grad_w, grad_b) = grads[self.offsets[l]..self.offsets[l + 1]].split_at_mut(n_in * n_out);
            let delta = &self.delta[..n_out * stride];
            for (d_row, gb) in delta.chunks_exact(stride).zip(grad_b.iter_mut()) {
                *gb = sum(&d_row[..active]);
            }
            let input = &input[..n_in * stride];
            let sample_major = &mut self.samples[l];
            if transposes_outputs(n_in, n_out) {
                // grad_wᵀ[i][o] = Σ_s x[i][s]·delta[o][s], lanes over the outputs.
                let swapped = &mut self.swapped[..n_in * n_out];
                let right = Right::FeatureMajor(delta, &mut sample_major[..]);
                sample_products(input, right, stride, rows, &mut self.panel, swapped);
                for (i, row) in swapped.chunks_exact(n_out).enumerate() {
                    for (g, &v) in grad_w[i..].iter_mut().step_by(n_in).zip(row) {
                        *g = v;
                    }
                }
            } else {
                // grad_w[o][i] = Σ_s delta[o][s]·x[i][s], lanes over the inputs.
                let right = if l == 0 && !self.input_rows.is_empty() {
                    Right::SampleMajor(&self.input_rows)
                } else {
                    Right::FeatureMajor(input, &mut sample_major[..])
                };
                sample_products(delta, right, stride, rows, &mut self.panel, grad_w);
            }
            if l == 0 {
                break;
            }
            let weights = &params[self.offsets[l]..self.offsets[l] + n_in * n_out];
            let grad = &mut self.grad_in[..n_in * stride];
            let w = Strided {
                data: weights,
                row_stride: 1,
                col_stride: n_in,
            };
            gemm(
                n_in,
                n_out,
                w,
                delta,
                stride,
                active,
                active,
                grad,
                stride,
                Accumulate::Overwrite,
                &mut self.panel,
            );
            let previous = self.specs[l - 1].activation;
            let y = if self.dropout[l - 1] > 0.0 {
                // The gradient reaches the activation through the mask.
                for (g, &m) in grad.iter_mut().zip(&self.masks[l - 1]) {
                    *g *= m;
                }
                &self.kept[l - 1][..n_in * stride]
            } else {
                &self.out[l - 1][..n_in * stride]
            };
            if previous == Activation::Softmax {
                let [gy, col, _] = &mut self.column;
                for r in 0..rows {
                    for i in 0..n_in {
                        gy[i] = grad[i * stride + r];
                        col[i] = y[i * stride + r];
                    }
                    activation_backward(previous, &col[..n_in], &mut gy[..n_in]);
                    for i in 0..n_in {
                        grad[i * stride + r] = gy[i];
                    }
                }
            } else {
                for (y, grad) in y.chunks_exact(stride).zip(grad.chunks_exact_mut(stride)) {
                    activation_backward(previous, &y[..active], &mut grad[..active]);
                }
            }
            std::mem::swap(&mut self.delta, &mut self.grad_in);
        }
        total
    }
}

/// The lanes a batch of `rows` samples computes: its whole blocks. Lanes beyond them (of a
/// larger batch before) are neither computed nor read: a half-batch of 32 samples in buffers
/// sized for 64 costs 32 lanes, not 64.
fn active_lanes(rows: usize) -> usize {
    rows.div_ceil(LANES) * LANES
}

/// `out = activation(pre)` element-wise over a whole feature-major buffer, in one pass:
/// nn-core's formulas, with tanh and sigmoid in their vectorised forms (see
/// [`crate::fastmath`]). Softmax, which is not element-wise, is copied here and applied per
/// sample by the caller.
fn activate_batch(activation: Activation, pre: &[f32], out: &mut [f32]) {
    let pairs = out.iter_mut().zip(pre);
    match activation {
        Activation::Identity | Activation::Softmax => pairs.for_each(|(y, &z)| *y = z),
        Activation::Relu => pairs.for_each(|(y, &z)| *y = if z > 0.0 { z } else { 0.0 }),
        Activation::LeakyRelu => pairs.for_each(|(y, &z)| {
            *y = if z > 0.0 {
                z
            } else {
                nn_core::activation::LEAKY_RELU_SLOPE * z
            }
        }),
        Activation::Tanh => pairs.for_each(|(y, &z)| *y = fastmath::tanh(z)),
        Activation::Sigmoid => pairs.for_each(|(y, &z)| *y = fastmath::sigmoid(z)),
    }
}

/// Applies `f(r, values)` to each of the first `rows` samples' values across `width` feature
/// rows.
fn per_sample(
    values: &mut [f32],
    width: usize,
    stride: usize,
    rows: usize,
    column: &mut [f32],
    mut f: impl FnMut(usize, &mut [f32]),
) {
    for r in 0..rows {
        for (i, c) in column[..width].iter_mut().enumerate() {
            *c = values[i * stride + r];
        }
        f(r, &mut column[..width]);
        for (i, c) in column[..width].iter().enumerate() {
            values[i * stride + r] = *c;
        }
    }
}

/// Σ a over whole blocks, in a fixed order.
fn sum(a: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    for a in a.chunks_exact(LANES) {
        for (acc, a) in acc.iter_mut().zip(a) {
            *acc += a;
        }
    }
    acc.iter().sum()
}

/// `to[s][i] = from[i][s]` for the first `rows` samples: feature-major rows of `stride` into
/// sample-major rows of `to_stride`, in squares of [`LANES`] × [`LANES`]: each square is read
/// as whole rows, turned in registers ([`turn`]) and written as whole rows.
fn transpose(from: &[f32], stride: usize, rows: usize, to: &mut [f32], to_stride: usize) {
    let features = from.len() / stride;
    for (block, to_block) in to
        .chunks_mut(LANES * to_stride)
        .take(rows.div_ceil(LANES))
        .enumerate()
    {
        let s0 = block * LANES;
        for i0 in (0..features).step_by(LANES) {
            let width = (features - i0).min(LANES);
            let mut square = [[0.0f32; LANES]; LANES];
            for (row, from_row) in square
                .iter_mut()
                .zip(from[i0 * stride..].chunks_exact(stride))
                .take(width)
            {
                if let Some(values) = from_row.get(s0..).and_then(<[f32]>::first_chunk::<LANES>) {
                    *row = *values;
                }
            }
            let turned = turn(&square);
            for (to_row, values) in to_block.chunks_mut(to_stride).zip(&turned) {
                if let Some(out) = to_row.get_mut(i0..i0 + width) {
                    store(values, out);
                }
            }
        }
    }
}

/// The transpose of a square of [`LANES`] × [`LANES`] values (fixed sizes, so the compiler
/// turns it with vector shuffles).
#[inline(always)]
fn turn(square: &[[f32; LANES]; LANES]) -> [[f32; LANES]; LANES] {
    std::array::from_fn(|j| std::array::from_fn(|i| square[i][j]))
}

/// True if the batch is loaded sample by sample into `input_rows` (see [`Engine`]): the
/// first layer's weight gradient runs its lanes over the inputs, and there are at least
/// [`LANES`] of them (for fewer, turning whole squares would cost more than it saves).
fn loads_rows(first: &LayerSpec) -> bool {
    let (n_in, n_out) = (usize::from(first.inputs), usize::from(first.outputs));
    !transposes_outputs(n_in, n_out) && n_in >= LANES
}

/// True if a layer's weight gradient costs less with the sum's lanes over its outputs (its
/// delta turned sample-major, the gradient computed transposed) than over its inputs: a
/// layer of few inputs, such as the first layer of a 1-input network, would otherwise run
/// [`LANES`] lanes for each input. Either way every element is the same sum in the same
/// order, so the choice changes no bit.
fn transposes_outputs(n_in: usize, n_out: usize) -> bool {
    n_in * n_out.div_ceil(LANES) < n_out * n_in.div_ceil(LANES)
}

/// The right operand of [`sample_products`].
enum Right<'a> {
    /// Feature-major, `[q][stride]`, turned sample-major into the scratch buffer.
    FeatureMajor(&'a [f32], &'a mut [f32]),
    /// Already sample-major, `[stride][q rounded up to LANES]` (the loaded inputs).
    SampleMajor(&'a [f32]),
}

/// `out[p][q] = Σ_s left[p][s]·right[q][s]` over the first `rows`
/// samples, `left` feature-major with rows of `stride`, summed over `s` in order: `right` is
/// read sample-major so that the lanes run over `q`.
fn sample_products(
    left: &[f32],
    right: Right<'_>,
    stride: usize,
    rows: usize,
    panel: &mut Panel,
    out: &mut [f32],
) {
    let left_rows = left.len() / stride;
    let right_rows = out.len() / left_rows.max(1);
    let (samples, padded): (&[f32], usize) = match right {
        Right::FeatureMajor(right, scratch) => {
            let padded = right_rows.div_ceil(LANES) * LANES;
            transpose(right, stride, rows, scratch, padded);
            (scratch, padded)
        }
        Right::SampleMajor(samples) => (samples, samples.len() / stride),
    };
    let left = Strided {
        data: left,
        row_stride: stride,
        col_stride: 1,
    };
    gemm(
        left_rows,
        rows,
        left,
        samples,
        padded,
        padded,
        right_rows,
        out,
        right_rows,
        Accumulate::Overwrite,
        panel,
    );
}

//! The dense-layer kernels, written once over slices.
//!
//! Weights are row-major `[out][in]`. The typed layers call these with array-backed
//! slices; inlined there, the loops are specialised to the layer's size. The run-time-shaped
//! networks of the host trainer call the same functions with run-time lengths.
//! Lengths that do not agree are never a panic: every loop zips, so it stops at the
//! shortest operand.

/// z = W x + b.
///
/// `weights` holds `z.len()` rows of `x.len()` values. The sum for each output starts at
/// its bias and adds `w * x` in input order, so every caller (host or board) rounds alike.
#[inline(always)]
pub fn dense_forward(weights: &[f32], bias: &[f32], x: &[f32], z: &mut [f32]) {
    if x.is_empty() {
        z.iter_mut().zip(bias).for_each(|(z, b)| *z = *b);
        return;
    }
    for ((z, row), b) in z.iter_mut().zip(weights.chunks_exact(x.len())).zip(bias) {
        let mut acc = *b;
        for (w, x) in row.iter().zip(x) {
            acc += w * x;
        }
        *z = acc;
    }
}

/// Backward pass of z = W x + b for one sample, given dL/dz in `grad_z`.
///
/// Adds dL/dW = grad_z ⊗ x into `grad_weights` and dL/db = grad_z into `grad_bias`
/// (accumulating, so a mini-batch sums its samples), and writes dL/dx = Wᵀ grad_z into
/// `grad_x`.
#[inline(always)]
pub fn dense_backward(
    weights: &[f32],
    x: &[f32],
    grad_z: &[f32],
    grad_weights: &mut [f32],
    grad_bias: &mut [f32],
    grad_x: &mut [f32],
) {
    grad_x.iter_mut().for_each(|g| *g = 0.0);
    if x.is_empty() {
        grad_bias.iter_mut().zip(grad_z).for_each(|(gb, gz)| *gb += gz);
        return;
    }
    let rows = weights
        .chunks_exact(x.len())
        .zip(grad_weights.chunks_exact_mut(x.len()));
    for (((row, grad_row), gb), &gz) in rows.zip(grad_bias.iter_mut()).zip(grad_z) {
        *gb += gz;
        for (((w, gw), xi), gx) in row.iter().zip(grad_row.iter_mut()).zip(x).zip(grad_x.iter_mut()) {
            *gw += gz * xi;
            *gx += w * gz;
        }
    }
}

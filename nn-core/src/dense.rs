//! The dense-layer kernels, written once over slices.
//!
//! Weights are row-major `[out][in]`. The typed layers call these with array-backed
//! slices; inlined there, the loops are specialised to the layer's size. The run-time-shaped
//! networks of the host trainer call the same functions with run-time lengths.
//! Lengths that do not agree are never a panic: every loop zips, so it stops at the
//! shortest operand.

use crate::activation::{Activation, activate, activate_one};

/// z = W x + b.
///
/// `weights` holds `z.len()` rows of `x.len()` values. The sum for each output starts at
/// its bias and adds `w * x` in input order, so every caller (host or board) rounds alike.
/// Outputs are computed four at a time (each input is loaded once for four rows, about 20%
/// fewer instructions on a Cortex-M4F), which changes no output's order of operations.
#[inline(always)]
pub fn dense_forward(weights: &[f32], bias: &[f32], x: &[f32], z: &mut [f32]) {
    dense_layer(weights, bias, Activation::Identity, x, z);
}

/// y = activation(W x + b): [`dense_forward`] with the activation applied to each block of
/// outputs while it is still in registers (softmax, which needs the whole layer, after).
/// Each output gets exactly the value `activate(dense_forward(..))` gives.
#[inline(always)]
pub fn dense_layer(weights: &[f32], bias: &[f32], activation: Activation, x: &[f32], z: &mut [f32]) {
    let n = x.len();
    if n == 0 {
        z.iter_mut().zip(bias).for_each(|(z, b)| *z = *b);
        activate(activation, z);
        return;
    }
    let (z_fours, z_rest) = z.as_chunks_mut::<4>();
    let (b_fours, _) = bias.as_chunks::<4>();
    if n >= WIDE {
        forward_fours_wide(weights, b_fours, x, z_fours, activation);
    } else {
        forward_fours_narrow(weights, b_fours, x, z_fours, activation);
    }
    let rows = weights
        .get(z_fours.len() * 4 * n..)
        .unwrap_or_default()
        .chunks_exact(n);
    let b_rest = bias.get(z_fours.len() * 4..).unwrap_or_default();
    for ((z, row), b) in z_rest.iter_mut().zip(rows).zip(b_rest) {
        let mut acc = *b;
        for (w, x) in row.iter().zip(x) {
            acc += w * x;
        }
        *z = activate_one(activation, acc);
    }
    if activation == Activation::Softmax {
        activate(Activation::Softmax, z);
    }
}

/// [`dense_layer`] for a layer whose shape is known only at run time (the run-time path,
/// [`crate::runtime`]): the same sums in the same order, so the same bits. On the
/// Cortex-M4F the sums come from one assembly loop over the whole layer
/// (`fpv4::layer`: a generic loop set up for run-time widths cost about 140 instructions
/// a layer), ReLU applied there too, any other activation after; elsewhere it is
/// [`dense_layer`].
#[inline(always)]
pub fn dense_layer_run_time(weights: &[f32], bias: &[f32], activation: Activation, x: &[f32], z: &mut [f32]) {
    #[cfg(nn_core_fpv4)]
    {
        let relu = activation == Activation::Relu;
        if fpv4::layer(weights, bias, x, z, relu) {
            if !relu {
                activate(activation, z);
            }
            return;
        }
    }
    dense_layer(weights, bias, activation, x, z);
}

/// Inputs from which [`dense_forward`] steps [`WIDE_STEP`] inputs at a time (on the
/// Cortex-M4F with the assembly kernel): a full step is the kernel's unit. Measured there:
/// from 8, sine 1-16-16-1 takes 710 instructions (788 with the narrow loop unrolled whole
/// by the compiler, and 1.8 KB more code) and digits 64-32-10 4,360.
const WIDE: usize = 8;

/// Inputs per step of the wide loop.
const WIDE_STEP: usize = 8;

/// Four outputs per pass over the inputs, loading [`WIDE_STEP`] inputs (and weights of each row) per step.
#[inline(always)]
fn forward_fours_wide(
    weights: &[f32],
    b_fours: &[[f32; 4]],
    x: &[f32],
    z_fours: &mut [[f32; 4]],
    activation: Activation,
) {
    let n = x.len();
    let (x_steps, x_rest) = x.as_chunks::<WIDE_STEP>();
    let rows = weights.chunks_exact(4 * n);
    for ((z4, b4), block) in z_fours.iter_mut().zip(b_fours).zip(rows) {
        let mut acc = *b4;
        let Some([r0, r1, r2, r3]) = split_four(block, n) else {
            break;
        };
        let (_, r0_rest) = r0.as_chunks::<WIDE_STEP>();
        let (_, r1_rest) = r1.as_chunks::<WIDE_STEP>();
        let (_, r2_rest) = r2.as_chunks::<WIDE_STEP>();
        let (_, r3_rest) = r3.as_chunks::<WIDE_STEP>();
        steps4(block, n, x_steps, &mut acc);
        for ((((x, w0), w1), w2), w3) in x_rest.iter().zip(r0_rest).zip(r1_rest).zip(r2_rest).zip(r3_rest) {
            acc[0] += w0 * x;
            acc[1] += w1 * x;
            acc[2] += w2 * x;
            acc[3] += w3 * x;
        }
        *z4 = acc.map(|z| activate_one(activation, z));
    }
}

/// `acc[r] += rows[r][s][k] · x[s][k]` for every step `s`, then `k`, in order, for the
/// four rows of `n` weights in `block`: the assembly kernel on the Cortex-M4F (`fpv4`), the
/// same loop in Rust elsewhere. Both round alike.
#[inline(always)]
fn steps4(block: &[f32], n: usize, x_steps: &[[f32; WIDE_STEP]], acc: &mut [f32; 4]) {
    #[cfg(nn_core_fpv4)]
    {
        fpv4::steps4(block, n, x_steps.as_flattened(), acc);
    }
    #[cfg(not(nn_core_fpv4))]
    {
        let Some(rows) = split_four(block, n) else {
            return;
        };
        let [r0, r1, r2, r3] = rows.map(|r| r.as_chunks::<WIDE_STEP>().0);
        for ((((x, w0), w1), w2), w3) in x_steps.iter().zip(r0).zip(r1).zip(r2).zip(r3) {
            for k in 0..WIDE_STEP {
                acc[0] += w0[k] * x[k];
                acc[1] += w1[k] * x[k];
                acc[2] += w2[k] * x[k];
                acc[3] += w3[k] * x[k];
            }
        }
    }
}

/// The inner loop of [`forward_fours_wide`] on the Cortex-M4F, as a leaf function in
/// assembly: per step of eight inputs, one `vldmia` loads the inputs, two more each row's
/// eight weights, and eight `vmla.f32` (multiply, round, add, round: not fused) add them to
/// that row's sum, in input order. The same operations in the same order as the portable
/// loop, so the same bits; 41 instructions per 32 multiply-adds where the compiler's code
/// takes about 70. It uses only s0-s15, which the calling convention lets a callee
/// overwrite, so it needs no stack (inline assembly could not declare them clobbered:
/// stable Rust cannot name single-precision registers on this target).
#[cfg(nn_core_fpv4)]
#[allow(unsafe_code)] // VFP load-multiple: no stable intrinsic, and the compiler does not form it here
mod fpv4 {
    // r0: the four sums (read, then written back); r1: the inputs; r2: row 0; r3: bytes
    // from one row to the next; [sp]: steps of eight inputs (at least 1).
    core::arch::global_asm!(
        ".fpu fpv4-sp-d16",
        ".section .text.nn_core_fpv4_steps4,\"ax\",%progbits",
        ".global nn_core_fpv4_steps4",
        ".type nn_core_fpv4_steps4,%function",
        ".thumb_func",
        "nn_core_fpv4_steps4:",
        "push {{r4, r5, r6, lr}}",
        "ldr r4, [sp, #16]",
        "add r5, r2, r3",
        "add r6, r5, r3",
        "add r12, r6, r3",
        "vldmia r0, {{s12-s15}}",
        "1:",
        "vldmia r1!, {{s0-s7}}",
        "vldmia r2!, {{s8-s11}}",
        "vmla.f32 s12, s8, s0",
        "vmla.f32 s12, s9, s1",
        "vmla.f32 s12, s10, s2",
        "vmla.f32 s12, s11, s3",
        "vldmia r2!, {{s8-s11}}",
        "vmla.f32 s12, s8, s4",
        "vmla.f32 s12, s9, s5",
        "vmla.f32 s12, s10, s6",
        "vmla.f32 s12, s11, s7",
        "vldmia r5!, {{s8-s11}}",
        "vmla.f32 s13, s8, s0",
        "vmla.f32 s13, s9, s1",
        "vmla.f32 s13, s10, s2",
        "vmla.f32 s13, s11, s3",
        "vldmia r5!, {{s8-s11}}",
        "vmla.f32 s13, s8, s4",
        "vmla.f32 s13, s9, s5",
        "vmla.f32 s13, s10, s6",
        "vmla.f32 s13, s11, s7",
        "vldmia r6!, {{s8-s11}}",
        "vmla.f32 s14, s8, s0",
        "vmla.f32 s14, s9, s1",
        "vmla.f32 s14, s10, s2",
        "vmla.f32 s14, s11, s3",
        "vldmia r6!, {{s8-s11}}",
        "vmla.f32 s14, s8, s4",
        "vmla.f32 s14, s9, s5",
        "vmla.f32 s14, s10, s6",
        "vmla.f32 s14, s11, s7",
        "vldmia r12!, {{s8-s11}}",
        "vmla.f32 s15, s8, s0",
        "vmla.f32 s15, s9, s1",
        "vmla.f32 s15, s10, s2",
        "vmla.f32 s15, s11, s3",
        "vldmia r12!, {{s8-s11}}",
        "vmla.f32 s15, s8, s4",
        "vmla.f32 s15, s9, s5",
        "vmla.f32 s15, s10, s6",
        "vmla.f32 s15, s11, s7",
        "subs r4, #1",
        "bne 1b",
        "vstmia r0, {{s12-s15}}",
        "pop {{r4, r5, r6, pc}}",
        ".size nn_core_fpv4_steps4, . - nn_core_fpv4_steps4",
    );

    unsafe extern "C" {
        fn nn_core_fpv4_steps4(acc: *mut f32, x: *const f32, row0: *const f32, stride: usize, steps: usize);
        fn nn_core_fpv4_layer(
            z: *mut f32,
            x: *const f32,
            weights: *const f32,
            bias: *const f32,
            n: usize,
            rows: usize,
            relu: usize,
        );
    }

    // A whole layer's sums, z = W x + b, for run-time widths. r0: z; r1: x; r2: the weights;
    // r3: the biases; [sp]: inputs n; [sp, #4]: rows; [sp, #8]: 1 to apply ReLU. Blocks of
    // four rows as in `nn_core_fpv4_steps4` (steps of eight inputs, then the last n % 8 one
    // at a time for the four rows), then the last rows % 4 one at a time: every sum starts
    // at its bias and adds w · x in input order (vmla: not fused), as the portable loops
    // do. ReLU is `z > 0 ? z : +0` (NaN and -0 give +0), as `activate_one`'s: `vcmp`
    // against 0 sets "le" for z ≤ 0 and for NaN (unordered).
    core::arch::global_asm!(
        ".fpu fpv4-sp-d16",
        ".section .text.nn_core_fpv4_layer,\"ax\",%progbits",
        ".global nn_core_fpv4_layer",
        ".type nn_core_fpv4_layer,%function",
        ".thumb_func",
        "nn_core_fpv4_layer:",
        "push {{r4, r5, r6, r7, r8, r9, r10, r11, lr}}",
        "ldr r4, [sp, #36]",
        "ldr r5, [sp, #40]",
        "lsl r6, r4, #2",
        "lsr r7, r4, #3",
        "and r8, r4, #7",
        "cmp r5, #4",
        "blo 5f",
        "2:",
        "vldmia r3!, {{s12-s15}}",
        "mov r9, r1",
        "add r10, r2, r6",
        "add r11, r10, r6",
        "add r12, r11, r6",
        "movs lr, r7",
        "beq 4f",
        "3:",
        "vldmia r9!, {{s0-s7}}",
        "vldmia r2!, {{s8-s11}}",
        "vmla.f32 s12, s8, s0",
        "vmla.f32 s12, s9, s1",
        "vmla.f32 s12, s10, s2",
        "vmla.f32 s12, s11, s3",
        "vldmia r2!, {{s8-s11}}",
        "vmla.f32 s12, s8, s4",
        "vmla.f32 s12, s9, s5",
        "vmla.f32 s12, s10, s6",
        "vmla.f32 s12, s11, s7",
        "vldmia r10!, {{s8-s11}}",
        "vmla.f32 s13, s8, s0",
        "vmla.f32 s13, s9, s1",
        "vmla.f32 s13, s10, s2",
        "vmla.f32 s13, s11, s3",
        "vldmia r10!, {{s8-s11}}",
        "vmla.f32 s13, s8, s4",
        "vmla.f32 s13, s9, s5",
        "vmla.f32 s13, s10, s6",
        "vmla.f32 s13, s11, s7",
        "vldmia r11!, {{s8-s11}}",
        "vmla.f32 s14, s8, s0",
        "vmla.f32 s14, s9, s1",
        "vmla.f32 s14, s10, s2",
        "vmla.f32 s14, s11, s3",
        "vldmia r11!, {{s8-s11}}",
        "vmla.f32 s14, s8, s4",
        "vmla.f32 s14, s9, s5",
        "vmla.f32 s14, s10, s6",
        "vmla.f32 s14, s11, s7",
        "vldmia r12!, {{s8-s11}}",
        "vmla.f32 s15, s8, s0",
        "vmla.f32 s15, s9, s1",
        "vmla.f32 s15, s10, s2",
        "vmla.f32 s15, s11, s3",
        "vldmia r12!, {{s8-s11}}",
        "vmla.f32 s15, s8, s4",
        "vmla.f32 s15, s9, s5",
        "vmla.f32 s15, s10, s6",
        "vmla.f32 s15, s11, s7",
        "subs lr, #1",
        "bne 3b",
        "4:",
        "movs lr, r8",
        "beq 6f",
        "7:",
        "vldmia r9!, {{s0}}",
        "vldmia r2!, {{s8}}",
        "vldmia r10!, {{s9}}",
        "vldmia r11!, {{s10}}",
        "vldmia r12!, {{s11}}",
        "vmla.f32 s12, s8, s0",
        "vmla.f32 s13, s9, s0",
        "vmla.f32 s14, s10, s0",
        "vmla.f32 s15, s11, s0",
        "subs lr, #1",
        "bne 7b",
        "6:",
        "ldr r9, [sp, #44]",
        "cmp r9, #0",
        "beq 12f",
        "movs r9, #0",
        "vmov s0, r9",
        "vcmp.f32 s12, #0.0",
        "vmrs APSR_nzcv, fpscr",
        "it le",
        "vmovle.f32 s12, s0",
        "vcmp.f32 s13, #0.0",
        "vmrs APSR_nzcv, fpscr",
        "it le",
        "vmovle.f32 s13, s0",
        "vcmp.f32 s14, #0.0",
        "vmrs APSR_nzcv, fpscr",
        "it le",
        "vmovle.f32 s14, s0",
        "vcmp.f32 s15, #0.0",
        "vmrs APSR_nzcv, fpscr",
        "it le",
        "vmovle.f32 s15, s0",
        "12:",
        "vstmia r0!, {{s12-s15}}",
        "mov r2, r12",
        "sub r5, r5, #4",
        "cmp r5, #4",
        "bhs 2b",
        "5:",
        "cmp r5, #0",
        "beq 9f",
        "8:",
        "vldmia r3!, {{s12}}",
        "mov r9, r1",
        "movs lr, r4",
        "beq 11f",
        "10:",
        "vldmia r9!, {{s0}}",
        "vldmia r2!, {{s8}}",
        "vmla.f32 s12, s8, s0",
        "subs lr, #1",
        "bne 10b",
        "11:",
        "ldr r9, [sp, #44]",
        "cmp r9, #0",
        "beq 13f",
        "movs r9, #0",
        "vmov s0, r9",
        "vcmp.f32 s12, #0.0",
        "vmrs APSR_nzcv, fpscr",
        "it le",
        "vmovle.f32 s12, s0",
        "13:",
        "vstmia r0!, {{s12}}",
        "subs r5, #1",
        "bne 8b",
        "9:",
        "pop {{r4, r5, r6, r7, r8, r9, r10, r11, pc}}",
        ".size nn_core_fpv4_layer, . - nn_core_fpv4_layer",
    );

    /// `z[o] = bias[o] + Σ_i weights[o·n + i] · x[i]` (in input order) for every output of
    /// `z`, with `n = x.len()`, then ReLU if `relu`; `false` (nothing written) if `weights`
    /// or `bias` are too short.
    #[inline(always)]
    pub fn layer(weights: &[f32], bias: &[f32], x: &[f32], z: &mut [f32], relu: bool) -> bool {
        let (n, rows) = (x.len(), z.len());
        if n.checked_mul(rows).is_none_or(|count| weights.len() < count) || bias.len() < rows {
            return false;
        }
        // SAFETY: reads `n` inputs of `x`, `n · rows` weights and `rows` biases (checked just
        // above) and writes `rows` sums into `z`; follows the AAPCS (r4-r11 and lr saved and
        // restored, only the caller-saved s0-s15 used).
        unsafe {
            nn_core_fpv4_layer(
                z.as_mut_ptr(),
                x.as_ptr(),
                weights.as_ptr(),
                bias.as_ptr(),
                n,
                rows,
                usize::from(relu),
            );
        }
        true
    }

    /// `acc[r] += block[r·n + 8s + k] · x[8s + k]` for every step `s < steps`, then `k`, in
    /// order, for the four rows of `n` weights in `block`.
    #[inline(always)]
    pub fn steps4(block: &[f32], n: usize, x: &[f32], acc: &mut [f32; 4]) {
        let steps = x.len().min(n) / 8;
        if steps == 0 || block.len() < 3 * n + 8 * steps {
            return;
        }
        // SAFETY: reads `8 · steps` f32 from `x` and from each of the four rows starting at
        // `block[r·n]` (r < 4); `8 · steps ≤ n ≤ x.len()` and `3n + 8 · steps ≤ block.len()`,
        // so every load is inside the slices; reads and writes the four sums in `acc`; follows
        // the AAPCS (callee-saved registers pushed and popped, s0-s15 caller-saved).
        unsafe {
            nn_core_fpv4_steps4(acc.as_mut_ptr(), x.as_ptr(), block.as_ptr(), 4 * n, steps);
        }
    }
}

/// The four rows of `n` weights in a block of `4 n`.
#[inline(always)]
fn split_four(block: &[f32], n: usize) -> Option<[&[f32]; 4]> {
    let (first, second) = block.split_at_checked(2 * n)?;
    let ((r0, r1), (r2, r3)) = (first.split_at_checked(n)?, second.split_at_checked(n)?);
    Some([r0, r1, r2, r3])
}

/// Four outputs per pass over the inputs, one input at a time.
#[inline(always)]
fn forward_fours_narrow(
    weights: &[f32],
    b_fours: &[[f32; 4]],
    x: &[f32],
    z_fours: &mut [[f32; 4]],
    activation: Activation,
) {
    let n = x.len();
    let rows = weights.chunks_exact(4 * n);
    for ((z4, b4), block) in z_fours.iter_mut().zip(b_fours).zip(rows) {
        let mut acc = *b4;
        for (i, &x) in x.iter().enumerate() {
            let (Some(w0), Some(w1), Some(w2), Some(w3)) = (
                block.get(i),
                block.get(n + i),
                block.get(2 * n + i),
                block.get(3 * n + i),
            ) else {
                break;
            };
            acc[0] += w0 * x;
            acc[1] += w1 * x;
            acc[2] += w2 * x;
            acc[3] += w3 * x;
        }
        *z4 = acc.map(|z| activate_one(activation, z));
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

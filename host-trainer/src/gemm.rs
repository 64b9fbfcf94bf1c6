//! The one matrix-product kernel of the training engine, register-tiled.
//!
//! `c[m][j] = start(m) + Σ_k a(m, k) · b[k][j]` for `j` over whole blocks of [`LANES`]
//! columns: a tile of [`TILE_M`] rows by [`LANES`] columns lives in local arrays the compiler
//! keeps in vector registers, each `b` block loaded once per tile and each `a` value
//! broadcast. The sum over `k` runs in order, so every element is computed in a fixed order
//! (and, starting from a bias, in nn-core's `dense_forward` order).

use crate::engine::LANES;

/// Rows of `c` computed together: 8 tiles of 16 lanes fill half of AVX-512's 32 vector
/// registers; with 16 registers (AVX2) 4 rows keep the tile out of memory.
pub const TILE_M: usize = if cfg!(target_feature = "avx512f") { 8 } else { 4 };

/// How a tile of `c` starts and ends.
#[derive(Clone, Copy, Debug)]
pub enum Accumulate<'a> {
    /// `c = init[m] + Σ` (the forward pass: `init` is the bias).
    FromBias(&'a [f32]),
    /// c = Σ.
    Overwrite,
    /// c += Σ (summed from zero first, then added once).
    Add,
}

/// A matrix read element by element: `data[m * row_stride + k * col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct Strided<'a> {
    /// The elements.
    pub data: &'a [f32],
    /// Step between rows (m).
    pub row_stride: usize,
    /// Step between columns (k).
    pub col_stride: usize,
}

impl Strided<'_> {
    #[inline(always)]
    fn get(&self, m: usize, k: usize) -> f32 {
        self.data[m * self.row_stride + k * self.col_stride]
    }
}

/// `c[m][j]` for `m < rows`, `j < valid` (of `width`, a multiple of [`LANES`]), from
/// `a` (`rows × depth`) and `b` (`depth × width`, row stride `b_stride`); `c` has row stride
/// `c_stride`.
#[allow(clippy::too_many_arguments)] // a matrix product has this many dimensions
pub fn gemm(
    rows: usize,
    depth: usize,
    a: Strided<'_>,
    b: &[f32],
    b_stride: usize,
    width: usize,
    valid: usize,
    c: &mut [f32],
    c_stride: usize,
    mode: Accumulate<'_>,
) {
    let mut m = 0;
    while m < rows {
        let tile = (rows - m).min(TILE_M);
        for block in 0..width / LANES {
            let j0 = block * LANES;
            let mut acc = [[0.0f32; LANES]; TILE_M];
            if let Accumulate::FromBias(bias) = mode {
                for (t, row) in acc.iter_mut().enumerate().take(tile) {
                    *row = [bias[m + t]; LANES];
                }
            }
            if tile == TILE_M {
                for k in 0..depth {
                    let b_block = &b[k * b_stride + j0..k * b_stride + j0 + LANES];
                    for (t, row) in acc.iter_mut().enumerate() {
                        let a_value = a.get(m + t, k);
                        for (acc, &b) in row.iter_mut().zip(b_block) {
                            *acc += a_value * b;
                        }
                    }
                }
            } else {
                for k in 0..depth {
                    let b_block = &b[k * b_stride + j0..k * b_stride + j0 + LANES];
                    for (t, row) in acc.iter_mut().enumerate().take(tile) {
                        let a_value = a.get(m + t, k);
                        for (acc, &b) in row.iter_mut().zip(b_block) {
                            *acc += a_value * b;
                        }
                    }
                }
            }
            let end = (j0 + LANES).min(valid);
            if end <= j0 {
                continue;
            }
            for (t, row) in acc.iter().enumerate().take(tile) {
                let out = &mut c[(m + t) * c_stride + j0..(m + t) * c_stride + end];
                store(mode, row, out);
            }
        }
        m += tile;
    }
}

/// Writes (or adds) a row of [`LANES`] values into `out`, which holds up to [`LANES`] of
/// them. A whole block is moved as one array: `copy_from_slice` of a run-time length would
/// call `memcpy` for every 64 bytes.
#[inline(always)]
pub fn store(mode: Accumulate<'_>, row: &[f32; LANES], out: &mut [f32]) {
    match (mode, <&mut [f32; LANES]>::try_from(&mut *out)) {
        (Accumulate::Add, Ok(block)) => block.iter_mut().zip(row).for_each(|(c, a)| *c += a),
        (Accumulate::Add, Err(_)) => out.iter_mut().zip(row).for_each(|(c, a)| *c += a),
        (_, Ok(block)) => *block = *row,
        (_, Err(_)) => out.copy_from_slice(&row[..out.len()]),
    }
}

//! The one matrix-product kernel of the training engine, register-tiled.
//!
//! `c[m][j] = start(m) + Σ_k a(m, k) · b[k][j]` for `j` over whole blocks of [`LANES`]
//! columns: a tile of [`TILE_M`] rows by [`LANES`] columns lives in local arrays the compiler
//! keeps in vector registers, each `b` block loaded once per tile and each `a` value
//! broadcast. The sum over `k` runs in order, so every element is computed in a fixed order
//! (and, starting from a bias, in nn-core's `dense_forward` order).
//!
//! A tile is computed by a function of its own ([`accumulate`]) whose every loop has a
//! length known at compile time and whose operands arrive as whole arrays: that is what
//! lets the compiler keep the tile in registers (no stores to the stack inside the loop) and
//! drop the bounds checks of the inner loop.

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

/// The shape of one product: `c` (`rows × width`, `valid` columns kept, row stride
/// `c_stride`) from `a` (`rows × depth`) and `b` (`depth × width`, row stride `b_stride`).
#[derive(Clone, Copy, Debug)]
struct Shape {
    depth: usize,
    b_stride: usize,
    width: usize,
    valid: usize,
    c_stride: usize,
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
    let shape = Shape {
        depth,
        b_stride,
        width,
        valid,
        c_stride,
    };
    let mut m = 0;
    while m < rows {
        m += match rows - m {
            1 => row_tile::<1>(m, a, b, c, shape, mode),
            2 => row_tile::<2>(m, a, b, c, shape, mode),
            3 if TILE_M > 3 => row_tile::<3>(m, a, b, c, shape, mode),
            _ => row_tile::<TILE_M>(m, a, b, c, shape, mode),
        };
    }
}

/// Rows `m..m + T` of `c`, every block of columns; returns `T`.
#[inline(always)]
fn row_tile<const T: usize>(
    m: usize,
    a: Strided<'_>,
    b: &[f32],
    c: &mut [f32],
    shape: Shape,
    mode: Accumulate<'_>,
) -> usize {
    let depth = shape.depth;
    if a.col_stride == 1 {
        // Rows of `a` are contiguous (weights in the forward pass, deltas in a gradient).
        let rows: [&[f32]; T] = std::array::from_fn(|t| &a.data[(m + t) * a.row_stride..][..depth]);
        blocks::<T>(m, |k| std::array::from_fn(|t| rows[t][k]), b, c, shape, mode);
    } else {
        // Columns of `a` are (a transposed weight matrix in the backward pass).
        let (data, step) = (a.data, a.col_stride);
        let at = |k: usize| -> [f32; T] { std::array::from_fn(|t| data[k * step + (m + t) * a.row_stride]) };
        blocks::<T>(m, at, b, c, shape, mode);
    }
    T
}

/// Every block of [`LANES`] columns of rows `m..m + T`, `a_column(k)` giving `a(m.., k)`.
#[inline(always)]
fn blocks<const T: usize>(
    m: usize,
    a_column: impl Fn(usize) -> [f32; T],
    b: &[f32],
    c: &mut [f32],
    shape: Shape,
    mode: Accumulate<'_>,
) {
    for j0 in (0..shape.width).step_by(LANES) {
        let end = (j0 + LANES).min(shape.valid);
        if end <= j0 {
            break;
        }
        let start = match mode {
            Accumulate::FromBias(bias) => std::array::from_fn(|t| [bias[m + t]; LANES]),
            _ => [[0.0; LANES]; T],
        };
        let b_block = &b[j0..];
        let b_row = |k: usize| -> &[f32; LANES] {
            b_block[k * shape.b_stride..]
                .first_chunk::<LANES>()
                .expect("b holds depth rows of whole blocks")
        };
        let tile = accumulate(start, shape.depth, &a_column, b_row);
        for (t, row) in tile.iter().enumerate() {
            let at = (m + t) * shape.c_stride;
            store(mode, row, &mut c[at + j0..at + end]);
        }
    }
}

/// `acc[t][l] += a(k)[t] · b(k)[l]` for `k` in `0..depth`, in order: the register tile.
#[inline(always)]
fn accumulate<'b, const T: usize>(
    mut acc: [[f32; LANES]; T],
    depth: usize,
    a: impl Fn(usize) -> [f32; T],
    b: impl Fn(usize) -> &'b [f32; LANES],
) -> [[f32; LANES]; T] {
    for k in 0..depth {
        let (a, b) = (a(k), b(k));
        for (row, &a) in acc.iter_mut().zip(&a) {
            for (acc, &b) in row.iter_mut().zip(b) {
                *acc += a * b;
            }
        }
    }
    acc
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

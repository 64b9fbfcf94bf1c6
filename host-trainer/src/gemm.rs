//! The one matrix-product kernel of the training engine, register-tiled.
//!
//! `c[m][j] = start(m) + Σ_k a(m, k) · b[k][j]` for `j` over whole blocks of [`LANES`]
//! columns: a tile of [`TILE_M`] rows by [`LANES`] columns lives in local arrays the compiler
//! keeps in vector registers, each `b` block loaded once per tile and each `a` value
//! broadcast. The sum over `k` runs in order, so every element is computed in a fixed order
//! (and, starting from a bias, in nn-core's `dense_forward` order).
//!
//! A tile is computed by a function of its own (`accumulate`) whose every loop has a
//! length known at compile time and whose operands arrive as whole arrays: that is what
//! lets the compiler keep the tile in registers (no stores to the stack inside the loop) and
//! drop the bounds checks of the inner loop. The tile's rows of `a` are first copied into a
//! [`Panel`], `[k][row]`, so the inner loop reads them through one pointer and broadcasts
//! them straight from memory (rows read in place would each need a register of their own,
//! and x86-64 has too few).

use crate::engine::LANES;

/// Rows of `c` computed together: 8 tiles of 16 lanes fill half of AVX-512's 32 vector
/// registers; with AVX2's 16, 6 rows (12 accumulators, the two halves of a `b` block and a
/// broadcast value) were measured faster than 4 on the wide case once the rows of `a` come
/// from the panel (784-128-10 on one thread: 104k against 88-95k samples/s; sine 2% slower).
pub const TILE_M: usize = if cfg!(target_feature = "avx512f") { 8 } else { 6 };

/// How a tile of `c` starts (it is then written over `c`).
#[derive(Clone, Copy, Debug)]
pub enum Accumulate<'a> {
    /// `c = init[m] + Σ` (the forward pass: `init` is the bias).
    FromBias(&'a [f32]),
    /// c = Σ.
    Overwrite,
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

/// Scratch space of the kernel: a row tile's rows of `a`, copied `[k][row]` (grown to the
/// longest product it has served, then reused: no allocation per product).
#[derive(Debug, Default)]
pub struct Panel(Vec<f32>);

impl Panel {
    /// Room for `depth` steps of a tile of `T` rows.
    fn columns<const T: usize>(&mut self, depth: usize) -> &mut [[f32; T]] {
        if self.0.len() < depth * T {
            self.0.resize(depth * T, 0.0);
        }
        self.0[..depth * T].as_chunks_mut::<T>().0
    }
}

/// `c[m][j]` for `m < rows`, `j < valid` (of `width`, a multiple of [`LANES`]), from
/// `a` (`rows × depth`) and `b` (`depth × width`, row stride `b_stride`, whole rows); `c` has
/// row stride `c_stride`. `panel` is scratch space.
///
/// # Panics
/// If `b` holds fewer than `depth` rows or `width` exceeds `b_stride` (a caller's bug).
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
    panel: &mut Panel,
) {
    assert!(
        width <= b_stride && b.len() >= depth * b_stride,
        "b holds depth whole rows"
    );
    let shape = Shape {
        depth,
        b_stride,
        width,
        valid,
        c_stride,
    };
    let mut m = 0;
    while m < rows {
        let tile = Tile { m, mode };
        m += match rows - m {
            left if left >= TILE_M => row_tile::<TILE_M>(tile, a, b, c, shape, panel),
            left if left >= 4 => row_tile::<4>(tile, a, b, c, shape, panel),
            left if left >= 2 => row_tile::<2>(tile, a, b, c, shape, panel),
            _ => row_tile::<1>(tile, a, b, c, shape, panel),
        };
    }
}

/// The shape of a product: `c` (`width` columns, `valid` of them kept, row stride
/// `c_stride`) from `depth` steps of `a` and `b` (row stride `b_stride`).
#[derive(Clone, Copy, Debug)]
struct Shape {
    depth: usize,
    b_stride: usize,
    width: usize,
    valid: usize,
    c_stride: usize,
}

/// A row tile: its first row, and how it starts.
#[derive(Clone, Copy, Debug)]
struct Tile<'a> {
    m: usize,
    mode: Accumulate<'a>,
}

/// Rows `m..m + T` of `c`, every block of columns; returns `T`.
#[inline(always)]
fn row_tile<const T: usize>(
    tile: Tile<'_>,
    a: Strided<'_>,
    b: &[f32],
    c: &mut [f32],
    shape: Shape,
    panel: &mut Panel,
) -> usize {
    let (m, depth) = (tile.m, shape.depth);
    if a.col_stride == 1 {
        // Rows of `a` are contiguous (weights in the forward pass, deltas in a gradient).
        let rows: [&[f32]; T] = std::array::from_fn(|t| &a.data[(m + t) * a.row_stride..][..depth]);
        let column = |k: usize| std::array::from_fn(|t| rows[t][k]);
        if shape.valid <= LANES {
            // One block of columns: the rows are read once, in place.
            blocks::<T, _>(tile, || (0..depth).map(column), b, c, shape);
        } else {
            // Copied into the panel, read there through one pointer by every block.
            let columns = panel.columns::<T>(depth);
            for (k, to) in columns.iter_mut().enumerate() {
                *to = column(k);
            }
            blocks::<T, _>(tile, || columns.iter().copied(), b, c, shape);
        }
    } else if a.row_stride == 1 {
        // Columns of `a` are contiguous (a transposed weight matrix in the backward pass).
        let columns = || {
            a.data[m..]
                .chunks(a.col_stride)
                .take(depth)
                .map(|column| *column.first_chunk::<T>().expect("a holds rows m..m + T"))
        };
        blocks::<T, _>(tile, columns, b, c, shape);
    } else {
        let at = |k: usize| std::array::from_fn(|t| a.data[k * a.col_stride + (m + t) * a.row_stride]);
        blocks::<T, _>(tile, || (0..depth).map(at), b, c, shape);
    }
    T
}

/// Every block of [`LANES`] columns of rows `m..m + T`; `a_columns()` gives `a(m.., k)` for
/// each step `k` of the depth, in order.
#[inline(always)]
fn blocks<const T: usize, I: Iterator<Item = [f32; T]>>(
    tile: Tile<'_>,
    a_columns: impl Fn() -> I,
    b: &[f32],
    c: &mut [f32],
    shape: Shape,
) {
    let m = tile.m;
    for j0 in (0..shape.width).step_by(LANES) {
        let end = (j0 + LANES).min(shape.valid);
        if end <= j0 {
            break;
        }
        let start = match tile.mode {
            Accumulate::FromBias(bias) => std::array::from_fn(|t| [bias[m + t]; LANES]),
            _ => [[0.0; LANES]; T],
        };
        let b_rows = b
            .chunks_exact(shape.b_stride)
            .take(shape.depth)
            .map(|row| row[j0..].first_chunk::<LANES>().expect("width within b_stride"));
        let sums = accumulate(start, a_columns().zip(b_rows));
        for (t, row) in sums.iter().enumerate() {
            let at = (m + t) * shape.c_stride;
            store(row, &mut c[at + j0..at + end]);
        }
    }
}

/// `acc[t][l] += a[t] · b[l]` for each step `(a, b)`, in order: the register tile.
#[inline(always)]
fn accumulate<'b, const T: usize>(
    mut acc: [[f32; LANES]; T],
    steps: impl Iterator<Item = ([f32; T], &'b [f32; LANES])>,
) -> [[f32; LANES]; T] {
    for (a, b) in steps {
        for (row, &a) in acc.iter_mut().zip(&a) {
            for (acc, &b) in row.iter_mut().zip(b) {
                *acc += a * b;
            }
        }
    }
    acc
}

/// Writes a row of [`LANES`] values into `out`, which holds up to [`LANES`] of them. Moved
/// in pieces of fixed sizes (the whole block, else 8, 4, 2, 1 values): `copy_from_slice` of
/// a run-time length would call `memcpy` for a few bytes.
#[inline(always)]
pub fn store(row: &[f32; LANES], out: &mut [f32]) {
    if let Ok(block) = <&mut [f32; LANES]>::try_from(&mut *out) {
        *block = *row;
        return;
    }
    let (mut to, mut from) = (out, &row[..]);
    for size in [8, 4, 2, 1] {
        if to.len() >= size {
            let (head, tail) = to.split_at_mut(size);
            head.copy_from_slice(&from[..size]);
            (to, from) = (tail, &from[size..]);
        }
    }
}

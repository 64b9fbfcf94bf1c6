//! The matrix kernel against the plain triple loop, bit for bit: every element of `c` is
//! the same sum in the same order (bias, then `+ a·b` for k = 0, 1, ...), whatever the row
//! tile, the number of column blocks, the layout of `a` (rows, columns, or neither
//! contiguous) and whether the scratch panel was grown by a larger product before.

#![allow(clippy::unwrap_used)] // tests may unwrap

use host_trainer::Rng;
use host_trainer::engine::LANES;
use host_trainer::gemm::{Accumulate, Panel, Strided, gemm};

/// `a`'s layout: element (m, k) at `m * row_stride + k * col_stride`.
fn strides(layout: usize, rows: usize, depth: usize) -> (usize, usize) {
    match layout {
        0 => (depth, 1),                        // rows contiguous (weights, deltas)
        1 => (1, rows),                         // columns contiguous (transposed weights)
        _ => (2 * depth, 2 * rows * depth + 1), // neither (the general path)
    }
}

#[test]
fn gemm_is_the_triple_loop_bit_for_bit() {
    let mut rng = Rng::new(5);
    let mut panel = Panel::default();
    for rows in [1, 2, 3, 4, 5, 7, 8, 9, 13, 17] {
        for depth in [1, 2, 16, 33] {
            for blocks in [1, 2, 3] {
                for layout in 0..3 {
                    let width = blocks * LANES;
                    let valid = width - (rows + depth) % LANES;
                    let b_stride = width + LANES;
                    let (row_stride, col_stride) = strides(layout, rows, depth);
                    let a_len = (rows - 1) * row_stride + (depth - 1) * col_stride + 1;
                    let a: Vec<f32> = (0..a_len).map(|_| rng.uniform() - 0.5).collect();
                    let b: Vec<f32> = (0..depth * b_stride).map(|_| rng.uniform() - 0.5).collect();
                    let bias: Vec<f32> = (0..rows).map(|_| rng.uniform()).collect();
                    let c_stride = width + 3;
                    for with_bias in [true, false] {
                        let mut c = vec![f32::NAN; rows * c_stride];
                        let a_view = Strided {
                            data: &a,
                            row_stride,
                            col_stride,
                        };
                        let mode = if with_bias {
                            Accumulate::FromBias(&bias)
                        } else {
                            Accumulate::Overwrite
                        };
                        gemm(
                            rows, depth, a_view, &b, b_stride, width, valid, &mut c, c_stride, mode,
                            &mut panel,
                        );
                        for m in 0..rows {
                            for j in 0..c_stride {
                                let got = c[m * c_stride + j];
                                if j >= valid {
                                    assert!(got.is_nan(), "column {j} beyond valid {valid} written");
                                    continue;
                                }
                                let mut want = if with_bias { bias[m] } else { 0.0 };
                                for k in 0..depth {
                                    want += a[m * row_stride + k * col_stride] * b[k * b_stride + j];
                                }
                                assert_eq!(
                                    got.to_bits(),
                                    want.to_bits(),
                                    "rows {rows} depth {depth} blocks {blocks} layout {layout}: c[{m}][{j}]"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

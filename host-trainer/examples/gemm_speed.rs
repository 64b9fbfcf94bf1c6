//! The matrix kernel's speed on the products of one half-batch (32 samples) of the
//! 784-128-10 benchmark, in GFLOP/s (a multiply and an add counted as two): a benchmark that
//! prints figures, not a test. `cargo run --release -p host-trainer --example gemm_speed`
//! (the share of the machine's peak: compare with `scripts/fma-peak.c`).

use std::time::Instant;

use host_trainer::gemm::{Accumulate, Panel, Strided, gemm};

/// One product: name, rows, depth, width, and whether `a` is read by columns.
struct Case {
    name: &'static str,
    rows: usize,
    depth: usize,
    width: usize,
    transposed_a: bool,
    mode: &'static str,
}

fn main() {
    let cases = [
        Case {
            name: "forward 784->128 (W x input)",
            rows: 128,
            depth: 784,
            width: 32,
            transposed_a: false,
            mode: "bias",
        },
        Case {
            name: "gradient 784x128 (delta x input^T)",
            rows: 128,
            depth: 32,
            width: 784,
            transposed_a: false,
            mode: "overwrite",
        },
        Case {
            name: "forward 64->128 (b in level 1)",
            rows: 128,
            depth: 64,
            width: 32,
            transposed_a: false,
            mode: "bias",
        },
        Case {
            name: "forward 128->10",
            rows: 10,
            depth: 128,
            width: 32,
            transposed_a: false,
            mode: "bias",
        },
        Case {
            name: "backward 10->128 (W^T x delta)",
            rows: 128,
            depth: 10,
            width: 32,
            transposed_a: true,
            mode: "overwrite",
        },
    ];
    for case in &cases {
        // Eight copies of `a`, used in turn, so that it comes from beyond the level-2 cache
        // when it is large (as the weights do in training, between the optimizer's steps).
        let copies: Vec<Vec<f32>> = (0..8)
            .map(|n| {
                (0..case.rows * case.depth)
                    .map(|i| ((i + n) % 7) as f32 * 0.1)
                    .collect()
            })
            .collect();
        let b: Vec<f32> = (0..case.depth * case.width)
            .map(|i| (i % 5) as f32 * 0.1)
            .collect();
        let bias = vec![0.5f32; case.rows];
        let mut c = vec![0.0f32; case.rows * case.width];
        let (row_stride, col_stride) = if case.transposed_a {
            (1, case.rows)
        } else {
            (case.depth, 1)
        };
        let mode = match case.mode {
            "bias" => Accumulate::FromBias(&bias),
            _ => Accumulate::Overwrite,
        };
        let flops = 2.0 * (case.rows * case.depth * case.width) as f64;
        let repeats = (2e9 / flops).ceil() as usize;
        let mut best = f64::INFINITY;
        let mut panel = Panel::default();
        for _ in 0..5 {
            let start = Instant::now();
            for r in 0..repeats {
                let a = Strided {
                    data: &copies[r % copies.len()],
                    row_stride,
                    col_stride,
                };
                gemm(
                    case.rows, case.depth, a, &b, case.width, case.width, case.width, &mut c, case.width,
                    mode, &mut panel,
                );
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!(
            "{:<40} {:>6.1} GFLOP/s (best of 5, {} products)",
            case.name,
            flops * repeats as f64 / best / 1e9,
            repeats
        );
        std::hint::black_box(&c);
    }
}

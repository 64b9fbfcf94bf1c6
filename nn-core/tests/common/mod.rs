//! Helpers shared by the nn-core tests: a seeded RNG and independent f64 references.
#![allow(dead_code)]

use nn_core::{Activation, LayerView, Loss};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;

/// Extra relative tolerance where values go through exp: micromath's exp is off by up to
/// 0.24% under the `fast-math` feature (tests/fast_math.rs); libm's is exact to an ulp or two.
pub const APPROX: f64 = if cfg!(feature = "fast-math") { 1e-2 } else { 0.0 };

/// A seeded generator.
pub fn rng(seed: u64) -> Pcg32 {
    Pcg32::seed_from_u64(seed)
}

/// A uniform draw in [lo, hi).
pub fn uniform(rng: &mut Pcg32, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * nn_core::init::uniform01(rng)
}

/// `n` uniform draws in [lo, hi) whose magnitude is at least `gap` (away from kinks at 0).
pub fn values(rng: &mut Pcg32, n: usize, lo: f32, hi: f32, gap: f32) -> Vec<f32> {
    (0..n)
        .map(|_| {
            loop {
                let v = uniform(rng, lo, hi);
                if v.abs() >= gap {
                    break v;
                }
            }
        })
        .collect()
}

/// Activation in f64, written from the textbook formulas (not from nn-core's code).
pub fn activation_ref(activation: Activation, z: &[f64]) -> Vec<f64> {
    match activation {
        Activation::Identity => z.to_vec(),
        Activation::Relu => z.iter().map(|&v| v.max(0.0)).collect(),
        Activation::LeakyRelu => z.iter().map(|&v| if v > 0.0 { v } else { 0.01 * v }).collect(),
        Activation::Sigmoid => z.iter().map(|&v| 1.0 / (1.0 + (-v).exp())).collect(),
        Activation::Tanh => z.iter().map(|&v| v.tanh()).collect(),
        Activation::Softmax => {
            let e: Vec<f64> = z.iter().map(|v| v.exp()).collect();
            let s: f64 = e.iter().sum();
            e.iter().map(|v| v / s).collect()
        }
    }
}

/// Loss in f64 from the textbook formulas.
pub fn loss_ref(loss: Loss, y: &[f64], t: &[f64]) -> f64 {
    let n = y.len() as f64;
    let pairs = y.iter().zip(t);
    match loss {
        Loss::MeanSquaredError => pairs.map(|(y, t)| (y - t).powi(2)).sum::<f64>() / n,
        Loss::MeanAbsoluteError => pairs.map(|(y, t)| (y - t).abs()).sum::<f64>() / n,
        Loss::BinaryCrossEntropy => {
            pairs
                .map(|(y, t)| -(t * y.ln() + (1.0 - t) * (1.0 - y).ln()))
                .sum::<f64>()
                / n
        }
        Loss::CrossEntropy => pairs.map(|(y, t)| -t * y.ln()).sum(),
    }
}

/// Forward pass in f64 over the layer view, with parameters overridden by `params` (all
/// parameters in file order). Independent of nn-core's kernels.
pub fn forward_ref(net: &dyn LayerView, params: &[f64], x: &[f64]) -> Vec<f64> {
    let mut h = x.to_vec();
    let mut at = 0;
    for index in 0..net.layer_count() {
        let spec = net.layer(index).unwrap().spec;
        let (n_in, n_out) = (spec.inputs as usize, spec.outputs as usize);
        let w = &params[at..at + n_in * n_out];
        let b = &params[at + n_in * n_out..at + n_in * n_out + n_out];
        at += n_in * n_out + n_out;
        let z: Vec<f64> = (0..n_out)
            .map(|o| b[o] + (0..n_in).map(|i| w[o * n_in + i] * h[i]).sum::<f64>())
            .collect();
        h = activation_ref(spec.activation, &z);
    }
    h
}

/// All parameters of `net` in file order, as f64.
pub fn params_of(net: &dyn LayerView) -> Vec<f64> {
    (0..net.layer_count())
        .flat_map(|i| {
            let l = net.layer(i).unwrap();
            l.weights
                .iter()
                .chain(l.bias)
                .map(|&v| v as f64)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Central finite difference of `f` at `x` along coordinate `j`, in f64.
pub fn finite_difference(f: impl Fn(&[f64]) -> f64, x: &[f64], j: usize, h: f64) -> f64 {
    let mut plus = x.to_vec();
    let mut minus = x.to_vec();
    plus[j] += h;
    minus[j] -= h;
    (f(&plus) - f(&minus)) / (2.0 * h)
}

/// Asserts |a - b| <= abs + rel * |b|.
#[track_caller]
pub fn assert_close(a: f64, b: f64, abs: f64, rel: f64, what: &str) {
    let (abs, rel) = (abs + APPROX, rel + APPROX);
    assert!(
        (a - b).abs() <= abs + rel * b.abs(),
        "{what}: got {a}, reference {b} (tolerance {abs} + {rel}·|ref|)"
    );
}

pub fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// A run-time-shaped network for tests: any layer list, even an invalid one.
pub struct DynNet {
    pub layers: Vec<(nn_core::LayerSpec, Vec<f32>, Vec<f32>)>,
}

impl LayerView for DynNet {
    fn layer_count(&self) -> usize {
        self.layers.len()
    }
    fn layer(&self, index: usize) -> Option<nn_core::LayerParams<'_>> {
        let (spec, weights, bias) = self.layers.get(index)?;
        Some(nn_core::LayerParams {
            spec: *spec,
            weights,
            bias,
        })
    }
}

/// A weight file assembled by hand from FORMAT.md: `header` is every byte before the padding
/// (preamble included), `body` every f32 after it. Independent of nn-core's encoder.
pub fn file_from_parts(header: &[u8], body: &[f32]) -> Vec<u8> {
    let mut bytes = header.to_vec();
    while !bytes.len().is_multiple_of(4) {
        bytes.push(0);
    }
    for v in body {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    let crc = crc32_reference(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320), bit by bit: a reference for the crate's.
pub fn crc32_reference(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Recomputes the CRC at the end of a file after a test edited its bytes.
pub fn fix_crc(bytes: &mut [u8]) {
    let end = bytes.len() - 4;
    let crc = crc32_reference(&bytes[..end]);
    bytes[end..].copy_from_slice(&crc.to_le_bytes());
}

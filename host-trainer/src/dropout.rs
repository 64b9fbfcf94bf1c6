//! Dropout, as Keras' `Dropout(rate)` after a hidden layer: while training, each output of
//! the layer is zeroed with probability `rate` and the others are multiplied by
//! `1 / (1 - rate)`, so every output keeps its expected value. Inference (nn-core, the weight
//! file, the board) never sees it.
//!
//! Which outputs are dropped is a hash of (seed, step, sample, layer, unit), not a draw from
//! a stream: a sample gets the same mask whichever thread computes it, so the same seed gives
//! the same bytes with one thread or two.

/// SplitMix64's finalizer: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The key of sample `sample` (its index in the training data) at gradient step `step` of a
/// run whose dropout seed is `seed`.
pub fn row_key(seed: u64, step: u64, sample: usize) -> u64 {
    mix(mix(seed ^ mix(step.wrapping_add(0x9e37_79b9_7f4a_7c15))) ^ sample as u64)
}

/// The factor dropout applies to unit `unit` of layer `layer` for the row of `key`: 0 if
/// dropped (probability `rate`), else `1 / (1 - rate)`.
pub fn keep_scale(key: u64, layer: usize, unit: usize, rate: f32) -> f32 {
    let threshold = (f64::from(rate) * 4_294_967_296.0) as u64;
    let draw = mix(key ^ ((layer as u64) << 32 | unit as u64)) >> 32;
    if draw < threshold { 0.0 } else { 1.0 / (1.0 - rate) }
}

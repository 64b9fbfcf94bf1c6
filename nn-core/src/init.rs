//! Weight initialisation from any `rand_core` generator.

use crate::view::LayerParamsMut;

/// How to draw a layer's initial weights (biases start at zero).
///
/// fan_in and fan_out are the layer's inputs and outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// Uniform in ±√(6 / (fan_in + fan_out)) (Keras' default).
    GlorotUniform,
    /// Normal with σ = √(2 / (fan_in + fan_out)).
    GlorotNormal,
    /// Uniform in ±√(6 / fan_in), for ReLU layers.
    HeUniform,
    /// Normal with σ = √(2 / fan_in), for ReLU layers.
    HeNormal,
}

/// A uniform draw in [0, 1) from the top 24 bits of one `u32` (exact in f32, the same on
/// every platform).
pub fn uniform01<R: rand_core::Rng + ?Sized>(rng: &mut R) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// A standard normal draw (Box–Muller, with libm so every platform draws the same numbers).
pub fn standard_normal<R: rand_core::Rng + ?Sized>(rng: &mut R) -> f32 {
    let u1 = 1.0 - uniform01(rng); // in (0, 1]: the logarithm is finite
    let u2 = uniform01(rng);
    libm::sqrtf(-2.0 * libm::logf(u1)) * libm::cosf(2.0 * core::f32::consts::PI * u2)
}

/// Fills the layer's weights by `init` and zeroes its biases.
pub fn init_layer<R: rand_core::Rng + ?Sized>(init: Init, layer: LayerParamsMut<'_>, rng: &mut R) {
    let fan_in = f32::from(layer.spec.inputs);
    let fan_out = f32::from(layer.spec.outputs);
    let (uniform, scale) = match init {
        Init::GlorotUniform => (true, libm::sqrtf(6.0 / (fan_in + fan_out))),
        Init::GlorotNormal => (false, libm::sqrtf(2.0 / (fan_in + fan_out))),
        Init::HeUniform => (true, libm::sqrtf(6.0 / fan_in)),
        Init::HeNormal => (false, libm::sqrtf(2.0 / fan_in)),
    };
    for w in layer.weights.iter_mut() {
        *w = if uniform {
            (2.0 * uniform01(rng) - 1.0) * scale
        } else {
            standard_normal(rng) * scale
        };
    }
    layer.bias.iter_mut().for_each(|b| *b = 0.0);
}

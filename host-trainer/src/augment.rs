//! Data augmentation: a fresh, seeded variation of the training split every epoch.
//!
//! Small sensor data sets overfit; showing the network a slightly different copy of its
//! training data each epoch is the usual remedy. Each option works on normalized features
//! (what the network sees). The validation split and everything exported are never
//! augmented. Draws come from the trainer's PCG32 in a fixed order: same seed, same bytes.

use crate::data::Dataset;
use crate::error::Error;
use crate::rng::Rng;

/// The augmentations to apply (all off by default).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Augment {
    /// Standard deviation of Gaussian noise added to every feature (normalized units).
    pub noise: f32,
    /// Every sample's features multiplied by one factor drawn uniformly from
    /// [1 - scale, 1 + scale].
    pub scale: f32,
    /// Mixup (classification): each sample becomes λ·itself + (1-λ)·a random partner, for
    /// features and one-hot targets alike, with λ ~ Beta(α, α).
    pub mixup: Option<f32>,
}

impl Augment {
    /// True if any augmentation is on.
    pub fn is_active(&self) -> bool {
        self.noise > 0.0 || self.scale > 0.0 || self.mixup.is_some()
    }

    /// Checks the settings against the data.
    ///
    /// # Errors
    /// [`Error::Config`] for a negative or non-finite setting, a scale of 1 or more, or mixup
    /// on a regression task.
    pub fn check(&self, data: &Dataset) -> Result<(), Error> {
        let bad = |what: &str| Err(Error::Config(what.to_owned()));
        if !(self.noise >= 0.0 && self.noise.is_finite()) {
            return bad("--augment-noise must be a finite number >= 0");
        }
        if !(0.0..1.0).contains(&self.scale) {
            return bad("--augment-scale must be at least 0 and below 1");
        }
        if let Some(alpha) = self.mixup {
            if !(alpha > 0.0 && alpha.is_finite()) {
                return bad("--mixup takes a Beta parameter alpha > 0 (e.g. 0.2)");
            }
            if !data.task.is_classification() {
                return bad("--mixup mixes class targets: it needs a classification task");
            }
        }
        Ok(())
    }

    /// A freshly augmented copy of `data`: mixup first, then scaling, then noise.
    pub fn apply(&self, data: &Dataset, rng: &mut Rng) -> Dataset {
        let mut out = data.clone();
        let (n_x, n_t) = (data.feature_count(), data.task.outputs());
        for i in 0..data.len() {
            let x = &mut out.features[i * n_x..(i + 1) * n_x];
            if let Some(alpha) = self.mixup {
                let j = rng.below(data.len());
                let lambda = beta(alpha, rng);
                mix(x, data.x(j), lambda);
                mix(&mut out.targets[i * n_t..(i + 1) * n_t], data.y(j), lambda);
            }
            if self.scale > 0.0 {
                let factor = 1.0 + self.scale * (2.0 * rng.uniform() - 1.0);
                x.iter_mut().for_each(|v| *v *= factor);
            }
            if self.noise > 0.0 {
                x.iter_mut().for_each(|v| *v += self.noise * rng.normal());
            }
        }
        out
    }
}

/// `a = λ a + (1 - λ) b`.
fn mix(a: &mut [f32], b: &[f32], lambda: f32) {
    for (a, b) in a.iter_mut().zip(b) {
        *a = lambda * *a + (1.0 - lambda) * b;
    }
}

/// A Beta(α, α) draw, as X / (X + Y) of two Gamma(α) draws.
fn beta(alpha: f32, rng: &mut Rng) -> f32 {
    let (x, y) = (gamma(alpha, rng), gamma(alpha, rng));
    if x + y > 0.0 { x / (x + y) } else { 0.5 }
}

/// A Gamma(shape, 1) draw (Marsaglia and Tsang; shapes below 1 by Gamma(a + 1)·U^(1/a)),
/// with libm's functions so every platform draws the same numbers.
fn gamma(shape: f32, rng: &mut Rng) -> f32 {
    if shape < 1.0 {
        let u = 1.0 - rng.uniform();
        return gamma(shape + 1.0, rng) * libm::powf(u, 1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / libm::sqrtf(9.0 * d);
    loop {
        let x = rng.normal();
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = 1.0 - rng.uniform();
        if libm::logf(u) < 0.5 * x * x + d - d * v + d * libm::logf(v) {
            return d * v;
        }
    }
}

//! Synthetic data sets of the examples: the Keras tutorial's parabola and TFLM's sine.

use crate::rng::Rng;

/// A synthetic data set generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Synthetic {
    /// x uniform in [0, 1), y = x² (the classic Keras tutorial).
    Square,
    /// x uniform in [0, 2π), y = sin x + noise (TensorFlow Lite Micro's hello_world).
    Sine,
}

impl Synthetic {
    /// `samples` rows of (x, y) with Gaussian noise of standard deviation `noise` on y.
    pub fn generate(self, samples: usize, noise: f32, rng: &mut Rng) -> Vec<(f32, f32)> {
        (0..samples)
            .map(|_| {
                let x = match self {
                    Synthetic::Square => rng.uniform(),
                    Synthetic::Sine => rng.uniform() * core::f32::consts::TAU,
                };
                let clean = match self {
                    Synthetic::Square => x * x,
                    Synthetic::Sine => libm::sinf(x),
                };
                let y = if noise > 0.0 {
                    clean + noise * rng.normal()
                } else {
                    clean
                };
                (x, y)
            })
            .collect()
    }

    /// The rows as CSV with header `x,y`.
    pub fn to_csv(rows: &[(f32, f32)]) -> String {
        let mut csv = String::from("x,y\n");
        for (x, y) in rows {
            csv.push_str(&format!("{x:?},{y:?}\n"));
        }
        csv
    }
}

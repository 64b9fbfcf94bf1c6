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

/// The mean squared error of the least-squares line through `rows` (in f64): the floor that
/// any network of linear layers (a straight line, however many layers) can reach. On the
/// tutorial's y = x² for x uniform in [0, 1) it is about 1/180: a parabola is not a line.
pub fn best_line_mse(rows: &[(f32, f32)]) -> f64 {
    let n = rows.len() as f64;
    let mx = rows.iter().map(|r| f64::from(r.0)).sum::<f64>() / n;
    let my = rows.iter().map(|r| f64::from(r.1)).sum::<f64>() / n;
    let sxy: f64 = rows
        .iter()
        .map(|&(x, y)| (f64::from(x) - mx) * (f64::from(y) - my))
        .sum();
    let sxx: f64 = rows.iter().map(|&(x, _)| (f64::from(x) - mx).powi(2)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    rows.iter()
        .map(|&(x, y)| (my + slope * (f64::from(x) - mx) - f64::from(y)).powi(2))
        .sum::<f64>()
        / n
}

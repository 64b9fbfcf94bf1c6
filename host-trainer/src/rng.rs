//! The trainer's random numbers: PCG32 (a specified generator whose stream does not change
//! across platforms or versions), so one seed gives the same bytes everywhere.

use rand_core::{Rng as _, SeedableRng};

/// A seeded PCG32 with the few draws training needs.
#[derive(Clone, Debug)]
pub struct Rng(rand_pcg::Pcg32);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(rand_pcg::Pcg32::seed_from_u64(seed))
    }

    /// The underlying generator (for nn-core's initialisation).
    pub fn inner(&mut self) -> &mut rand_pcg::Pcg32 {
        &mut self.0
    }

    /// A uniform integer in 0..n (n > 0), by Lemire's multiply-shift (bias below 2^-32·n).
    pub fn below(&mut self, n: usize) -> usize {
        ((u64::from(self.0.next_u32()) * n as u64) >> 32) as usize
    }

    /// A uniform 64-bit number (e.g. a seed for another generator).
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A uniform f32 in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        nn_core::init::uniform01(&mut self.0)
    }

    /// A standard normal f32.
    pub fn normal(&mut self) -> f32 {
        nn_core::init::standard_normal(&mut self.0)
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

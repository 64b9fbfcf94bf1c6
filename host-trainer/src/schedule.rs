//! Learning-rate schedules (`--lr-schedule`): the optimizer's learning rate scaled step by
//! step, in Keras' formulas, with the schedule's clock counted in epochs.
//!
//! A schedule is evaluated before every gradient step at the fractional epoch
//! `t = epoch - 1 + batch / batches` (0 at the first step), so the smooth ones change
//! within an epoch as Keras' step-based schedules do with `decay_steps` set to the batches
//! of an epoch.

use std::fmt;
use std::str::FromStr;

/// A learning-rate schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum LrSchedule {
    /// The optimizer's learning rate throughout.
    #[default]
    Constant,
    /// `lr · factor^⌊t / every⌋`: multiplied by `factor` every `every` epochs (PyTorch's
    /// StepLR, Keras' `ExponentialDecay(staircase=True)`).
    Step {
        /// Epochs between two cuts (at least 1).
        every: usize,
        /// The multiplier at each cut (above 0).
        factor: f32,
    },
    /// `lr · rate^t`: Keras' `ExponentialDecay(decay_steps = batches per epoch, decay_rate = rate)`.
    Exponential {
        /// The multiplier per epoch (above 0).
        rate: f32,
    },
    /// Keras' `CosineDecay(0, decay_steps, warmup_target = lr, warmup_steps)`: a linear
    /// warm-up from 0 to `lr` over `warmup` epochs, then `lr · ½(1 + cos(π·(t - warmup) / (epochs - warmup)))`
    /// down towards 0 at the end of training.
    Cosine {
        /// Epochs of linear warm-up (0 for none; fewer than the epochs).
        warmup: usize,
    },
    /// Keras' `ReduceLROnPlateau(factor, patience)` (min_delta 1e-4, no cooldown): the rate
    /// is multiplied by `factor` after `patience` epochs in which the monitored loss (the
    /// validation loss, else the training loss) has not improved by more than 1e-4.
    Plateau {
        /// Epochs without improvement before a cut (at least 1).
        patience: usize,
        /// The multiplier at each cut (above 0, below 1).
        factor: f32,
    },
}

/// The improvement [`LrSchedule::Plateau`] asks for (Keras' `min_delta` default).
pub const PLATEAU_MIN_DELTA: f32 = 1e-4;

impl LrSchedule {
    /// Checks the schedule against a run of `epochs` epochs.
    ///
    /// # Errors
    /// A message saying which value is out of range.
    pub fn check(&self, epochs: usize) -> Result<(), String> {
        match *self {
            LrSchedule::Cosine { warmup } if warmup >= epochs => Err(format!(
                "cosine's warm-up ({warmup} epochs) must be shorter than the run ({epochs} epochs)"
            )),
            _ => Ok(()),
        }
    }
}

impl FromStr for LrSchedule {
    type Err = String;

    /// `constant`, `step:EVERY:FACTOR`, `exponential:RATE`, `cosine[:WARMUP]` or
    /// `plateau:PATIENCE:FACTOR`.
    fn from_str(text: &str) -> Result<LrSchedule, String> {
        let parts: Vec<&str> = text.split(':').map(str::trim).collect();
        let epochs = |s: &str, name: &str, least: usize| {
            s.parse::<usize>()
                .ok()
                .filter(|&n| n >= least)
                .ok_or_else(|| format!("{name} '{s}' is not a whole number of epochs from {least}"))
        };
        let factor = |s: &str, name: &str, below_one: bool| {
            s.parse::<f32>()
                .ok()
                .filter(|f| f.is_finite() && *f > 0.0 && (!below_one || *f < 1.0))
                .ok_or_else(|| {
                    let range = if below_one {
                        "above 0 and below 1"
                    } else {
                        "above 0"
                    };
                    format!("{name} '{s}' must be a number {range}")
                })
        };
        let usage = "expected constant, step:EVERY:FACTOR, exponential:RATE, cosine[:WARMUP] or plateau:PATIENCE:FACTOR";
        match parts.as_slice() {
            ["constant"] => Ok(LrSchedule::Constant),
            ["step", every, f] => Ok(LrSchedule::Step {
                every: epochs(every, "EVERY", 1)?,
                factor: factor(f, "FACTOR", false)?,
            }),
            ["exponential", rate] => Ok(LrSchedule::Exponential {
                rate: factor(rate, "RATE", false)?,
            }),
            ["cosine"] => Ok(LrSchedule::Cosine { warmup: 0 }),
            ["cosine", warmup] => Ok(LrSchedule::Cosine {
                warmup: epochs(warmup, "WARMUP", 0)?,
            }),
            ["plateau", patience, f] => Ok(LrSchedule::Plateau {
                patience: epochs(patience, "PATIENCE", 1)?,
                factor: factor(f, "FACTOR", true)?,
            }),
            _ => Err(format!("'{text}': {usage}")),
        }
    }
}

impl fmt::Display for LrSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LrSchedule::Constant => write!(f, "constant"),
            LrSchedule::Step { every, factor } => write!(f, "step:{every}:{factor}"),
            LrSchedule::Exponential { rate } => write!(f, "exponential:{rate}"),
            LrSchedule::Cosine { warmup } => write!(f, "cosine:{warmup}"),
            LrSchedule::Plateau { patience, factor } => write!(f, "plateau:{patience}:{factor}"),
        }
    }
}

/// A schedule in progress: gives the learning rate of each step, and tracks the plateau.
#[derive(Clone, Debug)]
pub struct Scheduler {
    schedule: LrSchedule,
    base: f32,
    epochs: usize,
    /// The plateau's current rate, its best loss and the epochs since.
    plateau_lr: f32,
    best: f32,
    wait: usize,
}

impl Scheduler {
    /// The schedule of base learning rate `base` over a run of `epochs` epochs.
    pub fn new(schedule: LrSchedule, base: f32, epochs: usize) -> Scheduler {
        Scheduler {
            schedule,
            base,
            epochs: epochs.max(1),
            plateau_lr: base,
            best: f32::INFINITY,
            wait: 0,
        }
    }

    /// The learning rate of batch `batch` (from 0) of `batches` in epoch `epoch` (from 1).
    pub fn lr(&self, epoch: usize, batch: usize, batches: usize) -> f32 {
        let t = (epoch - 1) as f64 + batch as f64 / batches.max(1) as f64;
        let base = f64::from(self.base);
        let lr = match self.schedule {
            LrSchedule::Constant => return self.base,
            LrSchedule::Plateau { .. } => return self.plateau_lr,
            LrSchedule::Step { every, factor } => base * f64::from(factor).powi(((epoch - 1) / every) as i32),
            LrSchedule::Exponential { rate } => base * f64::from(rate).powf(t),
            LrSchedule::Cosine { warmup } => {
                let warmup = warmup as f64;
                if t < warmup {
                    base * t / warmup
                } else {
                    let decay = (t - warmup) / (self.epochs as f64 - warmup);
                    base * 0.5 * (1.0 + (std::f64::consts::PI * decay.min(1.0)).cos())
                }
            }
        };
        lr as f32
    }

    /// Tells a plateau schedule the loss it watches at the end of an epoch; true if that cut
    /// the rate.
    pub fn end_epoch(&mut self, monitored: f32) -> bool {
        let LrSchedule::Plateau { patience, factor } = self.schedule else {
            return false;
        };
        if monitored < self.best - PLATEAU_MIN_DELTA {
            self.best = monitored;
            self.wait = 0;
            return false;
        }
        self.wait += 1;
        if self.wait >= patience {
            self.plateau_lr *= factor;
            self.wait = 0;
            return true;
        }
        false
    }
}

//! What a network costs on a board: instructions per inference, flash and RAM, predicted
//! from its layer list by a model fitted to the emulated boards' BENCH figures.
//!
//! Instructions: the firmware's run-time path (any shape, no rebuild) runs each layer as
//! blocks of four rows over the inputs (steps of eight on the Cortex-M4F's f32 kernel, words
//! of four bytes in int8), then the last rows one at a time, then the activation. The
//! count is linear in those loop trip counts ([`features`]); the coefficients per core and
//! kind ([`CALIBRATION`]) are a least-squares fit of BENCH figures measured under QEMU on
//! networks of random shapes (`scripts/calibrate-cost.sh`). Sigmoid, tanh and softmax cost
//! what libm's `expf` costs, which depends on the values (and on the Cortex-M0 every f32
//! operation does): the fit takes their mean, and [`Calibration::held_out`] says how far
//! off the predictions were on shapes the fit did not see.

use nn_core::{Activation, LayerSpec, ModelKind};

/// The processor cores the firmware example runs on; the cost of an inference depends on
/// the core (and the file's kind), not on the board around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Core {
    /// Cortex-M4 with its single-precision FPU and DSP instructions (mps2-an386, nRF52840).
    CortexM4F,
    /// Cortex-M0 without an FPU: f32 arithmetic in software (micro:bit).
    CortexM0,
}

impl Core {
    /// Both cores.
    pub const ALL: [Core; 2] = [Core::CortexM4F, Core::CortexM0];

    /// Its name in reports and in the calibration data.
    pub fn name(self) -> &'static str {
        match self {
            Core::CortexM4F => "cortex-m4f",
            Core::CortexM0 => "cortex-m0",
        }
    }

    /// The core of a name given by [`Core::name`].
    pub fn from_name(name: &str) -> Option<Core> {
        Core::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The core a Rust target of the firmware runs on.
    pub fn of_target(target: &str) -> Option<Core> {
        match target {
            "thumbv7em-none-eabihf" => Some(Core::CortexM4F),
            "thumbv6m-none-eabi" => Some(Core::CortexM0),
            _ => None,
        }
    }

    /// Whether nn-core's int8 kernels use the DSP extension here (sums of four rows at once
    /// from 16 inputs; without it every row is summed on its own).
    fn has_dsp(self) -> bool {
        self == Core::CortexM4F
    }
}

/// The model kinds, by their names in BENCH lines (`f32`, `int8`).
pub fn kind_from_name(name: &str) -> Option<ModelKind> {
    [ModelKind::F32, ModelKind::Int8]
        .into_iter()
        .find(|k| k.name() == name)
}

/// Names of the terms of [`features`], in order.
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "per inference",
    "per layer",
    "per block of 4 rows",
    "per block step",
    "per block tail input",
    "per single row",
    "per single-row step",
    "per single-row tail input",
    "per hidden unit",
    "per output",
    "per input",
    "per linear unit",
    "per relu unit",
    "per leaky_relu unit",
    "per sigmoid unit",
    "per tanh unit",
    "per softmax unit",
    "per softmax layer",
    "per multiply-add on ReLU outputs",
    "per int8 table lookup",
];

/// Number of terms of the instruction model.
pub const FEATURES: usize = 20;

/// The instruction model's terms for a network of `specs` of `kind` on `core`: how often
/// each loop of the run-time path's kernels runs. f32: blocks of four rows step eight
/// inputs at a time, then the last `inputs % 8` one at a time; the last `outputs % 4` rows
/// take every input one at a time; each unit's activation after. int8: with the DSP
/// extension, layers of 16 inputs or more sum four rows at a time in words of four inputs
/// and a tail of `inputs % 4`, other rows one at a time likewise; hidden outputs are
/// requantized (their ReLU or linear clamp is part of that), the output layer dequantized
/// and its activation applied in f32; a tanh or sigmoid hidden layer looks each output up
/// in its table. And in f32 the multiply-adds on a ReLU layer's outputs, which are often
/// exactly 0: soft float (the Cortex-M0) is quicker then.
pub fn features(core: Core, kind: ModelKind, specs: &[LayerSpec]) -> [f64; FEATURES] {
    let mut f = [0.0; FEATURES];
    f[0] = 1.0;
    f[1] = specs.len() as f64;
    let last = specs.len().saturating_sub(1);
    for (index, spec) in specs.iter().enumerate() {
        let (inputs, outputs) = (usize::from(spec.inputs), usize::from(spec.outputs));
        let (blocks, rows, step, unit) = match kind {
            ModelKind::Int8 if core.has_dsp() && inputs >= 16 => (outputs / 4, outputs % 4, 4, 4),
            ModelKind::Int8 => (0, outputs, 4, 4),
            _ => (outputs / 4, outputs % 4, 8, 1),
        };
        f[2] += blocks as f64;
        f[3] += (blocks * (inputs / step)) as f64;
        f[4] += (blocks * (inputs % step)) as f64;
        f[5] += rows as f64;
        // A single row steps words of four in int8, single inputs in f32.
        f[6] += (rows * (inputs / unit)) as f64;
        f[7] += (rows * (inputs % unit)) as f64;
        if index == last {
            f[9] += outputs as f64;
        } else {
            f[8] += outputs as f64;
        }
        if kind == ModelKind::Int8 && index != last && nn_core::format::hidden_uses_table(spec.activation) {
            f[19] += outputs as f64;
        }
        let after_relu = index > 0 && specs[index - 1].activation == Activation::Relu;
        if kind != ModelKind::Int8 && after_relu {
            f[18] += (inputs * outputs) as f64;
        }
        let activated = kind != ModelKind::Int8 || index == last;
        if activated {
            let slot = Activation::ALL
                .iter()
                .position(|a| *a == spec.activation)
                .unwrap_or(0);
            f[11 + slot] += outputs as f64;
            if spec.activation == Activation::Softmax {
                f[17] += 1.0;
            }
        }
    }
    f[10] = specs.first().map_or(0.0, |s| f64::from(s.inputs));
    f
}

/// How far a model's predictions were from the measured counts on shapes it was not fitted
/// to, as shares of the measured count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeldOut {
    /// Shapes measured.
    pub shapes: usize,
    /// Mean of |predicted - measured| / measured.
    pub mean: f64,
    /// Share of shapes predicted within 10%.
    pub within_10_percent: f64,
    /// Largest relative error.
    pub max: f64,
}

/// The fitted cost of one core and kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calibration {
    /// The core.
    pub core: Core,
    /// The file's kind.
    pub kind: ModelKind,
    /// Instructions per term of [`features`].
    pub coefficients: [f64; FEATURES],
    /// The most stack an inference took on the run-time path in the calibration runs.
    pub stack_bytes: usize,
    /// The predictions' error on held-out shapes.
    pub held_out: HeldOut,
}

impl Calibration {
    /// Predicted instructions per inference of a network of `specs` (at least 1).
    pub fn instructions(&self, specs: &[LayerSpec]) -> u64 {
        let f = features(self.core, self.kind, specs);
        let sum: f64 = f.iter().zip(&self.coefficients).map(|(x, c)| x * c).sum();
        sum.round().max(1.0) as u64
    }
}

/// The calibration of `core` and `kind` (every core has both kinds).
pub fn calibration(core: Core, kind: ModelKind) -> Option<&'static Calibration> {
    CALIBRATION.iter().find(|c| c.core == core && c.kind == kind)
}

/// What a network costs on a board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    /// Instructions per inference (predicted).
    pub instructions: u64,
    /// Bytes of the weight file in flash (exact).
    pub flash_bytes: usize,
    /// Bytes of RAM an inference needs on the run-time path: its two activation buffers
    /// (the widest layer, 4 bytes a unit) and its stack.
    pub ram_bytes: usize,
}

impl Cost {
    /// The cost of a network of `specs` whose weight file has `file_bytes`, on the core and
    /// of the kind of `calibration`.
    pub fn of(calibration: &Calibration, specs: &[LayerSpec], file_bytes: usize) -> Cost {
        let widest = nn_core::view::widest_of(specs);
        Cost {
            instructions: calibration.instructions(specs),
            flash_bytes: file_bytes,
            ram_bytes: crate::boards::scratch_bytes(widest) + calibration.stack_bytes,
        }
    }
}

/// Least-squares coefficients for `rows` (layer lists with their measured instruction
/// counts), minimizing the squared relative error; terms no row uses get 0.
pub fn fit(core: Core, kind: ModelKind, rows: &[(Vec<LayerSpec>, u64)]) -> [f64; FEATURES] {
    // Normal equations of the weighted problem (weight 1 / measured), with a ridge far below
    // any term's scale so that unused terms (all-zero columns) solve to 0.
    let mut a = [[0.0f64; FEATURES]; FEATURES];
    let mut b = [0.0f64; FEATURES];
    for (specs, measured) in rows {
        let y = (*measured).max(1) as f64;
        let x = features(core, kind, specs).map(|v| v / y);
        for i in 0..FEATURES {
            b[i] += x[i];
            for j in 0..FEATURES {
                a[i][j] += x[i] * x[j];
            }
        }
    }
    let trace: f64 = (0..FEATURES).map(|i| a[i][i]).sum();
    for (i, row) in a.iter_mut().enumerate() {
        row[i] += 1e-12 * trace.max(1e-300);
    }
    solve(a, b)
}

/// `x` with `a x = b`, by Gaussian elimination with partial pivoting (`a` symmetric positive
/// definite here, so every pivot is nonzero).
fn solve(mut a: [[f64; FEATURES]; FEATURES], mut b: [f64; FEATURES]) -> [f64; FEATURES] {
    for col in 0..FEATURES {
        let pivot = (col..FEATURES)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let p = a[col][col];
        if p == 0.0 {
            continue;
        }
        for row in col + 1..FEATURES {
            let factor = a[row][col] / p;
            if factor != 0.0 {
                let pivot_row = a[col];
                for (value, pivot_value) in a[row].iter_mut().zip(pivot_row).skip(col) {
                    *value -= factor * pivot_value;
                }
                b[row] -= factor * b[col];
            }
        }
    }
    let mut x = [0.0; FEATURES];
    for row in (0..FEATURES).rev() {
        let rest: f64 = (row + 1..FEATURES).map(|k| a[row][k] * x[k]).sum();
        x[row] = if a[row][row] == 0.0 {
            0.0
        } else {
            (b[row] - rest) / a[row][row]
        };
    }
    x
}

/// The error of `calibration`'s predictions on `rows`.
pub fn held_out(calibration: &Calibration, rows: &[(Vec<LayerSpec>, u64)]) -> HeldOut {
    let errors: Vec<f64> = rows
        .iter()
        .map(|(specs, measured)| {
            let measured = (*measured).max(1) as f64;
            (calibration.instructions(specs) as f64 - measured).abs() / measured
        })
        .collect();
    let n = errors.len().max(1) as f64;
    HeldOut {
        shapes: errors.len(),
        mean: errors.iter().sum::<f64>() / n,
        within_10_percent: errors.iter().filter(|&&e| e <= 0.10).count() as f64 / n,
        max: errors.iter().copied().fold(0.0, f64::max),
    }
}

include!("cost_calibration.rs");

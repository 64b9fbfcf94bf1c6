//! The board half of the project: boot, find the weight file in its flash region, check it
//! with nn-core, run its test vectors and report parity with the host, cost per inference,
//! and a streaming demo. One build serves every network shape listed in [`SHAPES`], as f32
//! or int8 files (the kind is in the header); the model is not compiled in, so a new model
//! of a served shape needs no rebuild.
//!
//! Output (semihosting), one line each:
//! `vector <i>: in=[..] out=[..] expected=[..]`, then
//! `PARITY model=<name> vectors=<n> mismatches=<m> max_abs_diff=<x>`,
//! `BENCH model=<name> kind=<f32|int8> insns_per_inference=<N> stack_bytes=<S> spread=<D>`,
//! `STREAM ...` lines. Exit status 0 when the file is valid and every vector matches bit
//! for bit, 1 otherwise (with `error: <nn-core's message>`).
#![no_std]
#![no_main]
// The flash-size probes use the loader and one kernel only: the rest is deliberately unused.
#![cfg_attr(any(feature = "size-f32", feature = "size-int8"), allow(dead_code))]

mod board;

use core::fmt;

use heapless::HistoryBuf;
use nn_core::{
    Dense, Error, Identity, LayerList, ModelKind, Relu, Softmax, Trainable, Vector, WeightFile, network,
};

/// TensorFlow Lite Micro's hello_world: sin x.
type Sine = network![Dense<1, 16, Relu>, Dense<16, 16, Relu>, Dense<16, 1, Identity>];
/// The 8x8 digits classifier.
type Digits = network![Dense<64, 32, Relu>, Dense<32, 10, Softmax>];

/// The shapes this firmware serves, for the refusal message.
const SHAPES: &str = "1-16 relu-16 relu-1 linear, 64-32 relu-10 softmax (f32 or int8)";

/// Longest input of a served shape (the streaming window's capacity).
const MAX_INPUTS: usize = 64;

/// Prints a line over semihosting, unless built `silent` (to measure code size).
macro_rules! say {
    ($($arg:tt)*) => {
        #[cfg(not(feature = "silent"))]
        cortex_m_semihosting::hprintln!($($arg)*);
    };
}

#[cortex_m_rt::entry]
fn main() -> ! {
    if cfg!(feature = "empty") {
        board::exit(true);
    }
    run_and_exit()
}

/// Serves the model in flash and exits with its verdict.
#[cfg(not(any(feature = "size-f32", feature = "size-int8")))]
fn run_and_exit() -> ! {
    match run(model_in_flash()) {
        Ok(()) => board::exit(true),
        Err(failure) => {
            say!("error: {}", failure);
            let _ = failure;
            board::exit(false)
        }
    }
}

/// The flash-size probe: loads, checks and runs the sine model once, nothing else.
#[cfg(any(feature = "size-f32", feature = "size-int8"))]
fn run_and_exit() -> ! {
    board::exit(size_probe::load_check_and_run())
}

/// What the flash-size builds (`--features size-f32` or `size-int8`) contain: the code that
/// loads a sine weight file from the model region, validates it, and runs the network once
/// on a raw input (normalization included) -- and nothing else. Built without printing,
/// minus the `empty` build, it is the flash the model code costs (`scripts/firmware-size.sh`).
#[cfg(any(feature = "size-f32", feature = "size-int8"))]
mod size_probe {
    use super::{Sine, WeightFile};

    /// Loads, checks and runs the sine model once; `true` if the file was valid.
    pub fn load_check_and_run() -> bool {
        let Ok(file) = WeightFile::parse(crate::board::model_region()) else {
            return false;
        };
        let mut x = core::hint::black_box([0.5f32]);
        if let Some(normalization) = file.normalization() {
            normalization.apply(&mut x);
        }
        #[cfg(feature = "size-f32")]
        let y = file
            .borrow_network::<Sine>()
            .map(|net| nn_core::Layer::predict(&net, &x));
        #[cfg(feature = "size-int8")]
        let y = file.borrow_int8::<Sine>().map(|net| net.predict(&x));
        // As for a file that does not parse: a refusal is `false`, what it says is not kept
        // (printing it is not model code).
        y.map(core::hint::black_box).is_ok()
    }
}

/// Bytes per slot of the adapted-model store (two slots).
#[cfg(board = "mps2-an386")]
const STORE_SLOT: usize = 8192;

/// The weight file to run: the newest adapted model in the store's slots if there is a
/// valid one (so fine-tuning survives a reset), else the flashed model region.
fn model_in_flash() -> &'static [u8] {
    #[cfg(board = "mps2-an386")]
    {
        let store = nn_core::store::SlotStore {
            slot_size: STORE_SLOT as u32,
        };
        let mut flash = board::store_flash::EmulatedFlash::new();
        let mut scratch = [0u8; STORE_SLOT];
        if let Ok(found) = store.load(&mut flash, &mut scratch) {
            let start = found.slot as usize * STORE_SLOT;
            if let Some(file) = flash.bytes().get(start..start + found.len) {
                say!(
                    "using the adapted model in store slot {} (sequence {})",
                    found.slot,
                    found.sequence
                );
                return file;
            }
        }
    }
    board::model_region()
}

/// ` class=<arg-max>` after a vector's line for multi-output (classifier) models.
#[cfg(not(feature = "silent"))]
struct ClassNote<'a>(&'a [f32]);

#[cfg(not(feature = "silent"))]
impl fmt::Display for ClassNote<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() < 2 {
            return Ok(());
        }
        let best = (0..self.0.len()).fold(0, |best, i| if self.0[i] > self.0[best] { i } else { best });
        write!(f, " class={best}")
    }
}

/// Why the firmware exits with failure.
enum Failure {
    /// nn-core refused the weight file.
    File(Error),
    /// A valid file of a shape this build does not serve.
    Shape(LayerList),
    /// The board's outputs differ from the host's.
    Parity(usize),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::File(error) => write!(f, "{error}"),
            Failure::Shape(layers) => write!(f, "file has layers {layers}, this firmware serves {SHAPES}"),
            Failure::Parity(n) => write!(f, "{n} test vectors differ from the host's outputs"),
        }
    }
}

fn run(region: &'static [u8]) -> Result<(), Failure> {
    let file = WeightFile::parse(region).map_err(Failure::File)?;
    say!(
        "model {} {} ({} bytes, format {}, CRC {:08x} ok, {} test vectors)",
        file.name(),
        file.layers(),
        file.len(),
        file.version(),
        file.crc(),
        file.test_vector_count()
    );
    if serve::<Sine>(&file)? || serve::<Digits>(&file)? {
        Ok(())
    } else {
        Err(Failure::Shape(file.layers().clone()))
    }
}

/// Runs the file as network type `N` (f32 or int8, as the file says) if its layers are
/// `N`'s; `Ok(false)` if they are not.
fn serve<N: Trainable + 'static>(file: &WeightFile<'static>) -> Result<bool, Failure> {
    let result = match file.kind() {
        ModelKind::Int8 => file.borrow_int8::<N>().map(|net| {
            #[cfg(all(dsp, not(feature = "silent")))]
            dsp_check();
            let predict = |x: &N::Input| net.predict(x);
            run_model::<N>(file, "int8", &predict)
        }),
        _ => file.borrow_network::<N>().map(|net| {
            let predict = |x: &N::Input| nn_core::Layer::predict(&net, x);
            let result = run_model::<N>(file, "f32", &predict);
            finetune::<N>(file);
            result
        }),
    };
    match result {
        Ok(result) => result.map(|()| true),
        Err(Error::ShapeMismatch { .. }) => Ok(false),
        Err(error) => Err(Failure::File(error)),
    }
}

/// The network's output for a raw input: normalized as the file says, then predicted.
fn infer<I: Vector, O>(file: &WeightFile<'_>, predict: impl Fn(&I) -> O, raw: &I) -> O {
    let mut x = *raw;
    if let Some(normalization) = file.normalization() {
        normalization.apply(x.as_mut());
    }
    predict(&x)
}

/// Test vectors (PARITY), cost (BENCH) and streaming of one model, whichever its kind.
fn run_model<N: Trainable>(
    file: &WeightFile<'static>,
    kind: &str,
    predict: &impl Fn(&N::Input) -> N::Output,
) -> Result<(), Failure> {
    let name = file.name();
    let vectors = file.test_vector_count();
    let (mut mismatches, mut max_abs_diff) = (0, 0.0f32);
    let mut first = N::Input::zeroed();
    for index in 0..vectors {
        let Some((input, expected)) = file.test_vector(index) else {
            continue;
        };
        let mut raw = N::Input::zeroed();
        input.copy_to(raw.as_mut());
        let mut want = N::Output::zeroed();
        expected.copy_to(want.as_mut());
        let got = infer(file, predict, &raw);
        let same = got
            .as_ref()
            .iter()
            .zip(want.as_ref())
            .all(|(a, b)| a.to_bits() == b.to_bits());
        mismatches += usize::from(!same);
        for (a, b) in got.as_ref().iter().zip(want.as_ref()) {
            let diff = libm::fabsf(a - b);
            max_abs_diff = if diff > max_abs_diff || diff.is_nan() {
                diff
            } else {
                max_abs_diff
            };
        }
        say!(
            "vector {}: in={:?} out={:?} expected={:?}{}",
            index,
            raw.as_ref(),
            got.as_ref(),
            want.as_ref(),
            ClassNote(got.as_ref())
        );
        if index == 0 {
            first = raw;
        }
    }
    say!(
        "PARITY model={} vectors={} mismatches={} max_abs_diff={:?}",
        name,
        vectors,
        mismatches,
        max_abs_diff
    );

    // The cost of the first vector, and how much the others' differ (a fixed cost: 0).
    let (_, overhead) = board::measure(|| ());
    let (mut instructions, mut stack, mut fewest, mut most) = (0, 0, u32::MAX, 0);
    for index in 0..vectors.max(1) {
        let mut x = N::Input::zeroed();
        match file.test_vector(index) {
            Some((input, _)) => {
                input.copy_to(x.as_mut());
            }
            None => x = first,
        }
        if let Some(normalization) = file.normalization() {
            normalization.apply(x.as_mut());
        }
        let x = core::hint::black_box(x);
        let (_, cost) = board::measure(|| predict(&x));
        let count = cost.instructions.saturating_sub(overhead.instructions);
        if index == 0 {
            instructions = count;
        }
        stack = stack.max(cost.stack_bytes.saturating_sub(overhead.stack_bytes));
        fewest = fewest.min(count);
        most = most.max(count);
    }
    let spread = most - fewest;
    say!(
        "BENCH model={} kind={} insns_per_inference={} stack_bytes={} spread={}",
        name,
        kind,
        instructions,
        stack,
        spread
    );
    let _ = (name, kind, instructions, stack, spread);

    stream::<N>(file, predict, &first);
    if mismatches == 0 {
        Ok(())
    } else {
        Err(Failure::Parity(mismatches))
    }
}

/// Streaming, as a sensor feeds a board: samples arrive one at a time into a sliding window
/// (a `heapless::HistoryBuf`), and the network runs on the latest window. A one-input
/// model is fed a sweep of x over [0, 2π); a wider one the samples of its first test vector,
/// whose prediction is then the vector's.
fn stream<N: Trainable>(file: &WeightFile<'_>, predict: &impl Fn(&N::Input) -> N::Output, first: &N::Input) {
    let width = N::Input::LEN.min(MAX_INPUTS);
    let mut window: HistoryBuf<f32, MAX_INPUTS> = HistoryBuf::new();
    let sweep = (0..12).map(|k| k as f32 * core::f32::consts::TAU / 12.0);
    let samples: &mut dyn Iterator<Item = f32> = if width == 1 {
        &mut { sweep }
    } else {
        &mut first.as_ref().iter().copied()
    };
    for sample in samples {
        window.write(sample);
        if window.len() < width {
            continue;
        }
        let mut x = N::Input::zeroed();
        let skip = window.len() - width;
        for (x, v) in x.as_mut().iter_mut().zip(window.oldest_ordered().skip(skip)) {
            *x = *v;
        }
        let y = infer(file, predict, &x);
        say!("STREAM window={} last={:?} out={:?}", width, sample, y.as_ref());
        let _ = y;
    }
}

/// A calibration offset on the sensor, in the input's raw units, for the fine-tuning demo.
const SENSOR_OFFSET: f32 = 0.5;
/// Samples the board adapts on, one at a time.
const FINETUNE_SAMPLES: usize = 300;
/// SGD step size of the fine-tuning.
const FINETUNE_LR: f32 = 0.01;

/// Mean squared error of `net` on 32 points of sin x over [0, 2π), seen through a sensor
/// that adds [`SENSOR_OFFSET`] to x.
fn shifted_mse<N: Trainable>(file: &WeightFile<'_>, net: &N) -> f32 {
    let points = 32;
    let total: f32 = (0..points)
        .map(|k| {
            let x_true = k as f32 * core::f32::consts::TAU / points as f32;
            let mut x = N::Input::zeroed();
            x.as_mut()[0] = x_true + SENSOR_OFFSET;
            let y = infer(file, |x| nn_core::Layer::predict(net, x), &x);
            let e = y.as_ref()[0] - libm::sinf(x_true);
            e * e
        })
        .sum();
    total / points as f32
}

/// On-board fine-tuning, for one-input one-output models (the sine demo): the sensor now
/// reads x + [`SENSOR_OFFSET`]; labelled samples arrive one at a time and each takes one SGD
/// step on every bias and the last layer (nn-core's backprop into a gradient buffer of the
/// network's own type: no heap). The adapted model is then saved to the store's flash slots
/// as a valid weight file and read back.
fn finetune<N: Trainable>(file: &WeightFile<'_>) {
    use nn_core::finetune::{Scope, sgd_step, zero};
    if N::Input::LEN != 1 || N::Output::LEN != 1 {
        return;
    }
    let Ok(mut net) = file.to_network::<N>() else {
        return;
    };
    let mut grads = N::zeroed();
    let mut cache = N::new_cache();
    let ram_bytes = size_of::<N>() + size_of::<N>() + size_of::<N::Cache>();
    say!(
        "FINETUNE budget ram_bytes={} (network copy, gradients, cache; no heap)",
        ram_bytes
    );
    let before = shifted_mse(file, &net);
    let (_, overhead) = board::measure(|| ());
    let mut state = 0x1234_5678u32;
    let mut insns_per_step = 0;
    for k in 0..FINETUNE_SAMPLES {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let x_true = (state >> 8) as f32 * (core::f32::consts::TAU / 16_777_216.0);
        let mut x = N::Input::zeroed();
        x.as_mut()[0] = x_true + SENSOR_OFFSET;
        if let Some(normalization) = file.normalization() {
            normalization.apply(x.as_mut());
        }
        let mut t = N::Output::zeroed();
        t.as_mut()[0] = libm::sinf(x_true);
        let mut step = || {
            zero(&mut grads);
            net.accumulate_gradients(&x, &t, nn_core::Loss::MeanSquaredError, &mut cache, &mut grads);
            sgd_step(&mut net, &grads, FINETUNE_LR, Scope::BiasesAndLastLayer);
        };
        if k == 0 {
            let (_, cost) = board::measure(step);
            insns_per_step = cost.instructions.saturating_sub(overhead.instructions);
        } else {
            step();
        }
    }
    let after = shifted_mse(file, &net);
    say!(
        "FINETUNE model={} samples={} before={:?} after={:?} ram_bytes={} insns_per_step={}",
        file.name(),
        FINETUNE_SAMPLES,
        before,
        after,
        ram_bytes,
        insns_per_step
    );
    let _ = (before, after, insns_per_step, ram_bytes);
    #[cfg(board = "mps2-an386")]
    save_adapted::<N>(file, &net);
}

/// Saves the adapted network to the store's two flash slots and reads it back.
#[cfg(board = "mps2-an386")]
fn save_adapted<N: Trainable>(file: &WeightFile<'_>, net: &N) {
    use nn_core::store::SlotStore;
    const SLOT: usize = STORE_SLOT;
    let mut offset = [0.0f32; MAX_INPUTS];
    let mut scale = [0.0f32; MAX_INPUTS];
    let width = N::Input::LEN.min(MAX_INPUTS);
    let normalization = file.normalization().map(|n| {
        n.offset.copy_to(&mut offset[..width]);
        n.scale.copy_to(&mut scale[..width]);
        nn_core::NormalizationParams {
            offset: &offset[..width],
            scale: &scale[..width],
        }
    });
    // The file's test inputs, with the adapted network's outputs.
    let mut inputs = [0.0f32; 16];
    let mut outputs = [0.0f32; 16];
    let vectors = file.test_vector_count().min(16);
    for i in 0..vectors {
        let Some((x, _)) = file.test_vector(i) else {
            continue;
        };
        let mut raw = N::Input::zeroed();
        x.copy_to(raw.as_mut());
        inputs[i] = raw.as_ref()[0];
        outputs[i] = infer(file, |x| nn_core::Layer::predict(net, x), &raw).as_ref()[0];
    }
    let meta = nn_core::Metadata {
        name: file.name(),
        normalization,
        test_inputs: &inputs[..vectors],
        test_outputs: &outputs[..vectors],
    };
    let mut bytes = [0u8; SLOT];
    let mut scratch = [0u8; SLOT];
    let store = SlotStore {
        slot_size: SLOT as u32,
    };
    let mut flash = board::store_flash::EmulatedFlash::new();
    let result = nn_core::encode(net, &meta, &mut bytes)
        .and_then(|len| store.save(&mut flash, &bytes[..len], &mut scratch))
        .and_then(|saved| {
            let loaded = store.load(&mut flash, &mut scratch)?;
            let reloaded = WeightFile::parse_exact(&scratch[..loaded.len])?.to_network::<N>()?;
            Ok((saved, shifted_mse(file, &reloaded)))
        });
    match result {
        Ok((saved, mse)) => {
            say!(
                "STORE saved slot={} sequence={} bytes={} reloaded_mse={:?}",
                saved.slot,
                saved.sequence,
                saved.len,
                mse
            );
            let _ = (saved, mse);
        }
        Err(error) => {
            say!("error: saving the adapted model: {}", error);
            let _ = error;
        }
    }
}

/// On the Cortex-M4 build: nn-core's DSP dot products (`sxtb16` + `smlad`) against its
/// portable ones, on pseudo-random int8 rows of every length from 0 to 67 (the full int8
/// range, misaligned starts too), one row and four rows at a time. Prints
/// `DSPCHECK cases=<n> mismatches=<m>`.
#[cfg(all(dsp, not(feature = "silent")))]
fn dsp_check() {
    use nn_core::quant::{dsp, portable};
    let mut state = 0x2545_f491u32;
    let mut next = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 24) as u8 as i8
    };
    let (mut cases, mut mismatches) = (0u32, 0u32);
    let mut rows = [[0i8; 72]; 4];
    let mut x = [0i8; 72];
    for n in 0..=67 {
        for offset in 0..4 {
            rows.iter_mut()
                .flatten()
                .chain(x.iter_mut())
                .for_each(|v| *v = next());
            let bias = [i32::from(next()) << 16, -7, i32::MAX, i32::MIN];
            let row = |r: usize| &rows[r][offset..offset + n];
            let x = &x[3 - offset..3 - offset + n];
            for (r, &bias) in bias.iter().enumerate() {
                cases += 1;
                mismatches += u32::from(dsp::dot(row(r), x, bias) != portable::dot(row(r), x, bias));
            }
            let four = [row(0), row(1), row(2), row(3)];
            cases += 1;
            mismatches += u32::from(dsp::dot4(four, x, bias) != portable::dot4(four, x, bias));
        }
    }
    say!("DSPCHECK cases={} mismatches={}", cases, mismatches);
}

#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    say!("error: HardFault at pc {:#010x}", frame.pc());
    let _ = frame;
    board::exit(false)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    say!("error: panic: {}", info);
    let _ = info;
    board::exit(false)
}

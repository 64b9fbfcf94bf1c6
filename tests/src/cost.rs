//! Networks of random shapes written as weight files, for measuring what they cost on the
//! emulated boards (`examples/measure_cost.rs`, `tests/cost_model.rs`).

use std::path::{Path, PathBuf};

use host_trainer::cost::Core;
use host_trainer::export::{Golden, encode_int8_model, encode_model};
use host_trainer::{Dataset, DynNetwork, Rng, Table, Task};
use nn_core::{Activation, Init};

/// A layer list: the inputs and a `--layers` spec.
#[derive(Clone, Debug)]
pub struct Shape {
    /// Features in.
    pub inputs: usize,
    /// The layers, as `--layers` takes them (`16:relu,1:linear`).
    pub spec: String,
}

/// Test vectors each file carries (the firmware measures the first).
const VECTORS: usize = 4;

/// A number from 1 to `max`, small ones as likely as large ones on a log scale.
fn log_uniform(rng: &mut Rng, max: usize) -> usize {
    let x = (rng.uniform() * (max as f32).ln()).exp().round() as usize;
    x.clamp(1, max)
}

/// One of `items`.
fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.below(items.len())]
}

/// A random shape: 1 to 64 inputs, 0 to 3 hidden layers of 1 to 64 units, 1 to 10 outputs,
/// every activation; half of them with ReLU hidden layers only (so that int8 runs too).
pub fn random_shape(rng: &mut Rng) -> Shape {
    let inputs = log_uniform(rng, 64);
    let hidden = rng.below(4);
    let int8_able = rng.below(2) == 0;
    let mut layers = Vec::new();
    for _ in 0..hidden {
        let activation = if int8_able {
            Activation::Relu
        } else {
            pick(rng, &Activation::ALL[..5])
        };
        layers.push(format!("{}:{}", log_uniform(rng, 64), activation.name()));
    }
    let outputs = log_uniform(rng, 10);
    let output = if outputs > 1 {
        pick(
            rng,
            &[
                Activation::Identity,
                Activation::Sigmoid,
                Activation::Softmax,
                Activation::Tanh,
            ],
        )
    } else {
        pick(
            rng,
            &[Activation::Identity, Activation::Sigmoid, Activation::Tanh],
        )
    };
    layers.push(format!("{outputs}:{}", output.name()));
    Shape {
        inputs,
        spec: layers.join(","),
    }
}

/// `rows` samples of `inputs` uniform features in [-2, 2) and a target.
fn random_data(inputs: usize, rows: usize, rng: &mut Rng) -> Dataset {
    let mut csv: Vec<String> = (0..inputs).map(|i| format!("x{i}")).collect();
    csv.push("y".into());
    let mut text = csv.join(",") + "\n";
    for _ in 0..rows {
        let row: Vec<String> = (0..=inputs)
            .map(|_| format!("{}", rng.uniform() * 4.0 - 2.0))
            .collect();
        text.push_str(&(row.join(",") + "\n"));
    }
    let table = Table::from_reader(Path::new("random.csv"), text.as_bytes()).expect("random table");
    Dataset::from_table(&table, "y", Task::Regression).expect("random data")
}

/// Writes `shape` with Glorot-uniform weights, every parameter then shifted by up to ±0.25 (seeded by `seed` and `index`) as an f32 file
/// and, where nn-core's quantizer takes it and `core` has room, an int8 file, into `dir`;
/// returns each file's kind (`f32`, `int8`) and path. Files too large for `core`'s board
/// are left out.
pub fn write_files(
    shape: &Shape,
    core: Core,
    seed: u64,
    index: usize,
    dir: &Path,
) -> Vec<(&'static str, PathBuf)> {
    let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let data = random_data(shape.inputs, 64, &mut rng);
    let mut net = DynNetwork::from_spec(shape.inputs, &shape.spec).expect("shape");
    net.init(Init::GlorotUniform, &mut rng);
    // Trained networks have biases and no exact zeros: shift every parameter a little, so
    // that no sum starts at exactly 0 (soft float and libm take shortcuts there).
    for p in net.params_mut() {
        *p += (rng.uniform() - 0.5) * 0.5;
    }
    // The emulated board of `core`: the first board of that core (mps2-an386, microbit).
    let region = host_trainer::boards::BOARDS
        .iter()
        .find(|b| b.core == core)
        .map_or(0, |b| b.model_region_bytes);
    let mut files = Vec::new();
    let f32_path = dir.join(format!("{}-{index}-f32.nnw", core.name()));
    let vectors = Golden::from_samples(&net, None, &data, VECTORS, seed);
    let bytes = encode_model(&net, "shape", None, &vectors, None, &f32_path).expect("encode f32");
    if bytes.len() <= region {
        std::fs::write(&f32_path, bytes).expect("write f32 file");
        files.push(("f32", f32_path));
    }
    if let Ok(qnet) = host_trainer::quantize::quantize(&net, &data) {
        let model = qnet.model();
        let mut predictor = host_trainer::quantize::QPredictor::new(&model);
        let vectors = Golden::from_samples_with(None, &data, VECTORS, seed, |x| {
            predictor.predict(&model, x).to_vec()
        });
        let int8_path = dir.join(format!("{}-{index}-int8.nnw", core.name()));
        let bytes = encode_int8_model(&qnet, "shape", None, &vectors, None, &int8_path).expect("encode int8");
        if bytes.len() <= region {
            std::fs::write(&int8_path, bytes).expect("write int8 file");
            files.push(("int8", int8_path));
        }
    }
    files
}

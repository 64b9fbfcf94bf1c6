//! The batched training engine against an independent reference: every gradient of one batch
//! compared with plain back-propagation in f64, written out here sample by sample, and the
//! batch's summed loss against nn-core's forward and loss.
//!
//! The shapes cover both ways the engine lays out a weight gradient (lanes over the inputs,
//! or over the outputs for a layer of few inputs such as the first layer of a 1-input
//! network), register tiles cut short (odd widths), and a batch that ends inside a block.

#![allow(clippy::unwrap_used)] // tests may unwrap

use host_trainer::dropout::{keep_scale, row_key};
use host_trainer::engine::Engine;
use host_trainer::{DynNetwork, Predictor, Rng};
use nn_core::activation::LEAKY_RELU_SLOPE;
use nn_core::{Activation, Init, Loss};

/// Rows in the batch: two whole blocks of 16 and a part of a third.
const ROWS: usize = 37;

/// How each sample is treated: dropout rate per layer, and per sample its dropout key and
/// its loss weight.
#[derive(Clone, Default)]
struct Treatment {
    dropout: Vec<f32>,
    keys: Vec<u64>,
    weights: Vec<f32>,
}

impl Treatment {
    /// The dropout factor of unit `unit` of layer `layer` for sample `sample` (1: none).
    fn mask(&self, sample: usize, layer: usize, unit: usize) -> f64 {
        match self.dropout.get(layer) {
            Some(&rate) if rate > 0.0 => f64::from(keep_scale(self.keys[sample], layer, unit, rate)),
            _ => 1.0,
        }
    }

    fn weight(&self, sample: usize) -> f64 {
        self.weights.get(sample).map_or(1.0, |&w| f64::from(w))
    }
}

/// One sample's activations, layer by layer, in f64: `(z, y)` per layer, `y` before
/// dropout; `mask(layer, unit)` is the dropout factor of each output.
fn forward_f64(net: &DynNetwork, x: &[f32], mask: &dyn Fn(usize, usize) -> f64) -> Vec<(Vec<f64>, Vec<f64>)> {
    let mut input: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let mut layers = Vec::new();
    for (l, spec) in net.specs().iter().enumerate() {
        let (n_in, n_out) = (usize::from(spec.inputs), usize::from(spec.outputs));
        let params = &net.params()[net.offsets()[l]..net.offsets()[l + 1]];
        let (w, b) = params.split_at(n_in * n_out);
        let z: Vec<f64> = (0..n_out)
            .map(|o| {
                f64::from(b[o])
                    + (0..n_in)
                        .map(|i| f64::from(w[o * n_in + i]) * input[i])
                        .sum::<f64>()
            })
            .collect();
        let y: Vec<f64> = match spec.activation {
            Activation::Identity => z.clone(),
            Activation::Relu => z.iter().map(|&z| z.max(0.0)).collect(),
            Activation::LeakyRelu => z
                .iter()
                .map(|&z| {
                    if z > 0.0 {
                        z
                    } else {
                        f64::from(LEAKY_RELU_SLOPE) * z
                    }
                })
                .collect(),
            Activation::Tanh => z.iter().map(|z| z.tanh()).collect(),
            Activation::Sigmoid => z.iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect(),
            Activation::Softmax => {
                let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = z.iter().map(|z| (z - max).exp()).collect();
                let total: f64 = e.iter().sum();
                e.iter().map(|e| e / total).collect()
            }
        };
        input = y.iter().enumerate().map(|(unit, y)| y * mask(l, unit)).collect();
        layers.push((z, y));
    }
    layers
}

/// dy/dz of a hidden layer's activation, element-wise.
fn derivative(activation: Activation, z: f64, y: f64) -> f64 {
    match activation {
        Activation::Identity => 1.0,
        Activation::Relu => f64::from(u8::from(z > 0.0)),
        Activation::LeakyRelu => {
            if z > 0.0 {
                1.0
            } else {
                f64::from(LEAKY_RELU_SLOPE)
            }
        }
        Activation::Tanh => 1.0 - y * y,
        Activation::Sigmoid => y * (1.0 - y),
        Activation::Softmax => unreachable!("softmax is only tested as the output layer"),
    }
}

/// The gradient of the loss summed over the samples, by back-propagation in f64.
fn gradients_f64(
    net: &DynNetwork,
    samples: &[(Vec<f32>, Vec<f32>)],
    loss: Loss,
    treatment: &Treatment,
) -> Vec<f64> {
    let mut grads = vec![0.0f64; net.params().len()];
    let specs = net.specs();
    for (s, (x, t)) in samples.iter().enumerate() {
        let mask = |layer: usize, unit: usize| treatment.mask(s, layer, unit);
        let layers = forward_f64(net, x, &mask);
        let (_, y) = &layers[layers.len() - 1];
        let n = y.len() as f64;
        let mut delta: Vec<f64> = match loss {
            // softmax with cross-entropy: dL/dz = y Σt - t.
            Loss::CrossEntropy => {
                let sum_t: f64 = t.iter().map(|&t| f64::from(t)).sum();
                y.iter().zip(t).map(|(y, &t)| y * sum_t - f64::from(t)).collect()
            }
            // a linear output with the mean squared error.
            Loss::MeanSquaredError => y
                .iter()
                .zip(t)
                .map(|(y, &t)| 2.0 * (y - f64::from(t)) / n)
                .collect(),
            _ => unreachable!("the test uses two losses"),
        };
        delta.iter_mut().for_each(|d| *d *= treatment.weight(s));
        for l in (0..specs.len()).rev() {
            let (n_in, n_out) = (usize::from(specs[l].inputs), usize::from(specs[l].outputs));
            let input: Vec<f64> = if l == 0 {
                x.iter().map(|&v| f64::from(v)).collect()
            } else {
                (layers[l - 1].1.iter().enumerate())
                    .map(|(unit, y)| y * mask(l - 1, unit))
                    .collect()
            };
            let offset = net.offsets()[l];
            for o in 0..n_out {
                for i in 0..n_in {
                    grads[offset + o * n_in + i] += delta[o] * input[i];
                }
                grads[offset + n_in * n_out + o] += delta[o];
            }
            if l == 0 {
                break;
            }
            let w = &net.params()[offset..offset + n_in * n_out];
            let (z, y) = &layers[l - 1];
            delta = (0..n_in)
                .map(|i| {
                    let back: f64 = (0..n_out).map(|o| f64::from(w[o * n_in + i]) * delta[o]).sum();
                    back * mask(l - 1, i) * derivative(specs[l - 1].activation, z[i], y[i])
                })
                .collect();
        }
    }
    grads
}

fn check(inputs: usize, layers: &str, loss: Loss, seed: u64) {
    check_treated(inputs, layers, loss, seed, &Treatment::default());
}

/// As [`check`], with dropout and loss weights.
fn check_treated(inputs: usize, layers: &str, loss: Loss, seed: u64, treatment: &Treatment) {
    let mut net = DynNetwork::from_spec(inputs, layers).unwrap();
    let mut rng = Rng::new(seed);
    net.init(Init::GlorotUniform, &mut rng);
    // Non-zero biases, so that a bias added in the wrong place shows.
    for p in net.params_mut().iter_mut() {
        *p += 0.1 * (rng.uniform() - 0.5);
    }
    let outputs = usize::from(net.specs()[net.specs().len() - 1].outputs);
    let samples: Vec<(Vec<f32>, Vec<f32>)> = (0..ROWS)
        .map(|r| {
            let x: Vec<f32> = (0..inputs).map(|_| 2.0 * rng.uniform() - 1.0).collect();
            let t: Vec<f32> = match loss {
                Loss::CrossEntropy => (0..outputs)
                    .map(|o| f32::from(u8::from(o == r % outputs)))
                    .collect(),
                _ => (0..outputs).map(|_| rng.uniform()).collect(),
            };
            (x, t)
        })
        .collect();
    let mut engine = Engine::new(net.specs(), net.offsets(), ROWS + 3);
    engine.set_dropout(&treatment.dropout);
    if !treatment.weights.is_empty() {
        engine.weight_rows();
    }
    for (row, (x, t)) in samples.iter().enumerate() {
        engine.set_sample(row, x, t);
        let key = treatment.keys.get(row).copied().unwrap_or(0);
        engine.set_row(row, key, treatment.weight(row) as f32);
    }
    engine.forward(net.params(), ROWS);
    let mut grads = vec![0.0f32; net.params().len()];
    let total = engine.backward(net.params(), ROWS, loss, &mut grads);

    let reference = gradients_f64(&net, &samples, loss, treatment);
    let scale = reference.iter().fold(1.0f64, |m, g| m.max(g.abs()));
    for (p, (&g, &r)) in grads.iter().zip(&reference).enumerate() {
        assert!(
            (f64::from(g) - r).abs() <= 2e-5 * scale,
            "{inputs}-{layers}: parameter {p}: engine {g}, f64 reference {r}"
        );
    }
    if !treatment.dropout.is_empty() {
        return; // nn-core's forward has no dropout: the summed loss is checked without it
    }
    let mut predictor = Predictor::new(&net);
    let expected: f64 = samples
        .iter()
        .enumerate()
        .map(|(s, (x, t))| treatment.weight(s) * f64::from(loss.value(predictor.predict(&net, x), t)))
        .sum();
    assert!(
        (f64::from(total) - expected).abs() <= 1e-4 * expected.max(1.0),
        "{inputs}-{layers}: summed loss {total}, nn-core's {expected}"
    );
}

#[test]
fn batch_gradients_match_back_propagation_in_f64() {
    // 1 input: the first layer's weight gradient runs with lanes over its 17 outputs.
    check(1, "17:relu,2:linear", Loss::MeanSquaredError, 1);
    check(1, "16:relu,16:relu,1:linear", Loss::MeanSquaredError, 2);
    check(1, "16:tanh,1:linear", Loss::MeanSquaredError, 3);
    // Lanes over the 40 inputs; 3 outputs cut the register tile short.
    check(40, "3:tanh,1:linear", Loss::MeanSquaredError, 4);
    check(5, "9:sigmoid,6:leaky_relu,4:softmax", Loss::CrossEntropy, 5);
    check(64, "32:relu,10:softmax", Loss::CrossEntropy, 6);
    check(3, "70:relu,2:relu,3:softmax", Loss::CrossEntropy, 7);
}

/// Dropout and class weights: the engine's gradients against the same back-propagation in
/// f64 with the masks of [`keep_scale`] applied by hand (the gradient flows through kept
/// units only, scaled by 1/(1-rate)) and each sample's delta weighted.
#[test]
fn dropout_and_loss_weights_match_back_propagation_in_f64() {
    let keys: Vec<u64> = (0..ROWS).map(|s| row_key(7, 3, s)).collect();
    let weights: Vec<f32> = (0..ROWS).map(|s| [0.5, 1.0, 3.5][s % 3]).collect();
    let dropped = Treatment {
        dropout: vec![0.3, 0.5, 0.0],
        keys: keys.clone(),
        weights: Vec::new(),
    };
    check_treated(
        5,
        "9:sigmoid,6:leaky_relu,4:softmax",
        Loss::CrossEntropy,
        5,
        &dropped,
    );
    check_treated(1, "17:relu,16:tanh,1:linear", Loss::MeanSquaredError, 2, &dropped);
    let weighted = Treatment {
        weights: weights.clone(),
        ..Treatment::default()
    };
    check_treated(64, "32:relu,10:softmax", Loss::CrossEntropy, 6, &weighted);
    let both = Treatment {
        dropout: vec![0.2, 0.0],
        keys,
        weights,
    };
    check_treated(3, "70:relu,3:softmax", Loss::CrossEntropy, 7, &both);
}

/// A half posted to a helper thread that never runs (its core busy elsewhere) is taken back
/// by the caller: the batch completes, with the same gradients as on one thread. (Without
/// the taking back, the batch would wait forever: the test fails after 60 s.)
#[test]
fn a_half_the_helper_does_not_start_is_computed_by_the_caller() {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(batches_without_a_helper()));
    let results = receiver
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("a batch posted to a helper that never runs did not complete");
    let (one, two) = results.split_at(3);
    for (a, b) in one.iter().zip(two) {
        assert_eq!((&a.0, &a.1, a.2.to_bits()), (&b.0, &b.1, b.2.to_bits()));
        assert!(b.1.iter().any(|&g| g != 0.0), "the helper's half was computed");
    }
}

/// Three batches on one thread, then three posted to a helper no thread serves: each
/// batch's gradients of both halves and the second half's loss.
fn batches_without_a_helper() -> Vec<(Vec<f32>, Vec<f32>, f32)> {
    use host_trainer::parallel::Shared;
    use host_trainer::{Dataset, Synthetic};
    let data = Dataset::from_xy(&Synthetic::Sine.generate(64, 0.1, &mut Rng::new(1)));
    let mut net = DynNetwork::from_spec(1, "16:relu,1:linear").unwrap();
    net.init(Init::GlorotUniform, &mut Rng::new(2));
    let mut results = Vec::new();
    for threaded in [false, true] {
        let (shared, mut own) = Shared::new(
            &data,
            net.specs(),
            net.offsets(),
            net.params().to_vec(),
            64,
            Loss::MeanSquaredError,
            host_trainer::parallel::SampleRules::default(),
        );
        for batch in 0..3 {
            own.samples = (0..32).collect();
            shared.helper().samples = (32 + batch..64).collect();
            shared.compute(&mut own, threaded);
            let helper = shared.helper();
            results.push((own.grads.clone(), helper.grads.clone(), helper.loss));
        }
    }
    results
}

/// A batch computed after a larger one (the engine's buffers then hold the larger batch's
/// values beyond the smaller one's lanes, and its kernel's scratch is already grown) gives
/// the same bits as the same batch in a fresh engine: nothing stale is read. Shapes: a first
/// layer loaded as rows (64 inputs), one loaded value by value (1 input), and a product of
/// several column blocks.
#[test]
fn a_batch_after_a_larger_one_reads_nothing_stale() {
    for (inputs, layers, loss) in [
        (64, "32:relu,10:softmax", Loss::CrossEntropy),
        (1, "17:tanh,1:linear", Loss::MeanSquaredError),
        (40, "70:relu,3:sigmoid", Loss::BinaryCrossEntropy),
    ] {
        let mut net = DynNetwork::from_spec(inputs, layers).unwrap();
        let mut rng = Rng::new(9);
        net.init(Init::GlorotUniform, &mut rng);
        let outputs = usize::from(net.specs()[net.specs().len() - 1].outputs);
        let mut sample = |r: usize| -> (Vec<f32>, Vec<f32>) {
            let x = (0..inputs).map(|_| 2.0 * rng.uniform() - 1.0).collect();
            let t = (0..outputs)
                .map(|o| f32::from(u8::from(o == r % outputs)))
                .collect();
            (x, t)
        };
        let large: Vec<_> = (0..ROWS).map(&mut sample).collect();
        let small: Vec<_> = (0..5).map(&mut sample).collect();
        let run = |engine: &mut Engine, batch: &[(Vec<f32>, Vec<f32>)]| {
            for (row, (x, t)) in batch.iter().enumerate() {
                engine.set_sample(row, x, t);
            }
            engine.forward(net.params(), batch.len());
            let mut grads = vec![f32::NAN; net.params().len()];
            let loss = engine.backward(net.params(), batch.len(), loss, &mut grads);
            (
                grads.iter().map(|g| g.to_bits()).collect::<Vec<_>>(),
                loss.to_bits(),
            )
        };
        let mut used = Engine::new(net.specs(), net.offsets(), ROWS + 3);
        run(&mut used, &large);
        let after = run(&mut used, &small);
        let fresh = run(&mut Engine::new(net.specs(), net.offsets(), ROWS + 3), &small);
        assert_eq!(after, fresh, "{inputs}-{layers}");
        assert!(
            after.0.iter().all(|&g| !f32::from_bits(g).is_nan()),
            "every gradient written"
        );
    }
}

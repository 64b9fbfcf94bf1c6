//! The training options against their formulas: each optimizer's steps and each schedule's
//! rates against Keras' own (values printed by `scripts/keras-optimizer-steps.py` with
//! Keras 3.15.1 on TensorFlow, copied here), the L2 term and the plateau by hand, dropout's
//! expected activation, class weights; and every option giving the same bytes on one thread
//! or two.

#![allow(clippy::unwrap_used)] // tests may unwrap

use host_trainer::dropout::{keep_scale, row_key};
use host_trainer::gradient::{self, Clip, GradientRules};
use host_trainer::optim::{ADAMW_WEIGHT_DECAY, Optimizer, OptimizerState};
use host_trainer::schedule::{LrSchedule, Scheduler};
use host_trainer::{ClassWeights, Dataset, DynNetwork, Rng, Table, Task, TrainConfig, fit};
use nn_core::{Init, Loss};

const START: [f32; 4] = [0.5, -1.0, 2.0, 0.0];
const GRADS: [[f32; 4]; 3] = [
    [0.1, -0.2, 0.3, 0.05],
    [-0.4, 0.1, 0.2, 0.0],
    [0.25, 0.25, -0.5, 1.0],
];

/// Three steps of `optimizer` (with `weight_decay` and `rules`) on START, as Keras applies
/// them to a Dense(1) layer of 3 inputs: the kernel is the first three values, the bias the
/// last.
fn three_steps(optimizer: Optimizer, weight_decay: f32, rules: GradientRules) -> [f32; 4] {
    let net = DynNetwork::from_spec(3, "1:linear").unwrap();
    let mut params = START;
    let mut state = OptimizerState::new(optimizer, weight_decay, 4);
    for g in GRADS {
        let mut g = g;
        gradient::finish(&mut g, &params, 1, net.specs(), net.offsets(), &rules);
        state.step(&mut params, &g, optimizer.lr());
    }
    params
}

fn assert_close(name: &str, got: &[f32], keras: &[f64], tolerance: f64) {
    for (i, (&g, &k)) in got.iter().zip(keras).enumerate() {
        assert!(
            (f64::from(g) - k).abs() <= tolerance * k.abs().max(1e-3),
            "{name}[{i}]: ours {g:e}, Keras {k:e}"
        );
    }
}

#[test]
fn optimizers_take_kerass_steps() {
    let none = GradientRules::default();
    let adam = Optimizer::adam(0.01);
    let rmsprop = Optimizer::from_name("rmsprop", Some(0.01)).unwrap();
    let sgd = Optimizer::from_name("sgd", Some(0.1)).unwrap();
    let momentum = Optimizer::from_name("momentum", Some(0.1)).unwrap();
    let cases: [(&str, [f32; 4], [f64; 4]); 7] = [
        (
            "sgd",
            three_steps(sgd, 0.0, none),
            [
                5.050000548e-01,
                -1.014999986e+00,
                2.000000000e+00,
                -1.050000042e-01,
            ],
        ),
        (
            "momentum",
            three_steps(momentum, 0.0, none),
            [
                5.239000320e-01,
                -9.897999763e-01,
                1.930699944e+00,
                -1.135500073e-01,
            ],
        ),
        (
            "adam",
            three_steps(adam, 0.0, none),
            [
                4.959796965e-01,
                -9.907283783e-01,
                1.981094956e+00,
                -2.333792672e-02,
            ],
        ),
        (
            "adamw",
            three_steps(adam, ADAMW_WEIGHT_DECAY, none),
            [
                4.959202707e-01,
                -9.906092882e-01,
                1.980856180e+00,
                -2.333685756e-02,
            ],
        ),
        (
            "rmsprop",
            three_steps(rmsprop, 0.0, none),
            [
                4.820822477e-01,
                -1.007647872e+00,
                1.976588130e+00,
                -6.320725381e-02,
            ],
        ),
        (
            "clipnorm",
            three_steps(
                sgd,
                0.0,
                GradientRules {
                    clip: Clip::Norm(0.3),
                    ..none
                },
            ),
            [
                5.059208870e-01,
                -1.002758384e+00,
                1.987348318e+00,
                -3.500000015e-02,
            ],
        ),
        (
            "clipvalue",
            three_steps(
                sgd,
                0.0,
                GradientRules {
                    clip: Clip::Value(0.2),
                    ..none
                },
            ),
            [
                4.899999797e-01,
                -1.009999990e+00,
                1.980000019e+00,
                -2.500000224e-02,
            ],
        ),
    ];
    for (name, ours, keras) in cases {
        // TensorFlow's kernels round differently (the bias after Adam's g = 0 step is the
        // most sensitive: 4e-6 apart); an ε inside the root instead of outside, or a decay
        // applied after the update, moves a value by 5e-5 or more.
        assert_close(name, &ours, &keras, 1e-5);
    }
}

/// Keras' schedules at steps 0, 5, 10, 37, 100, 150 and 199 of a run of 20 epochs of 10
/// batches at base rate 0.01 (ours on the epoch clock: step s is batch s % 10 of epoch
/// s / 10 + 1).
#[test]
fn schedules_give_kerass_rates() {
    let steps = [0usize, 5, 10, 37, 100, 150, 199];
    let cases: [(LrSchedule, [f64; 7]); 4] = [
        (
            LrSchedule::Exponential { rate: 0.5 },
            [
                9.999999776e-03,
                7.071067579e-03,
                4.999999888e-03,
                7.694652304e-04,
                9.765624782e-06,
                3.051757744e-07,
                1.022123097e-08,
            ],
        ),
        (
            LrSchedule::Step {
                every: 3,
                factor: 0.5,
            },
            [
                9.999999776e-03,
                9.999999776e-03,
                9.999999776e-03,
                4.999999888e-03,
                1.249999972e-03,
                3.124999930e-04,
                1.562499965e-04,
            ],
        ),
        (
            LrSchedule::Cosine { warmup: 0 },
            [
                9.999999776e-03,
                9.984586388e-03,
                9.938441217e-03,
                9.179036133e-03,
                4.999999423e-03,
                1.464466099e-03,
                6.169080393e-07,
            ],
        ),
        (
            LrSchedule::Cosine { warmup: 4 },
            [
                0.0,
                1.249999972e-03,
                2.499999944e-03,
                9.250000119e-03,
                6.913417019e-03,
                2.222148236e-03,
                9.638071106e-07,
            ],
        ),
    ];
    for (schedule, keras) in cases {
        let scheduler = Scheduler::new(schedule, 0.01, 20);
        let ours: Vec<f32> = steps
            .iter()
            .map(|&s| scheduler.lr(s / 10 + 1, s % 10, 10))
            .collect();
        assert_close(&schedule.to_string(), &ours, &keras, 1e-5);
    }
    let constant = Scheduler::new(LrSchedule::Constant, 0.01, 20);
    assert_eq!(constant.lr(7, 3, 10).to_bits(), 0.01f32.to_bits());
}

/// ReduceLROnPlateau(patience 2, factor 0.5, min_delta 1e-4), by hand: an epoch that does not
/// beat the best by more than 1e-4 counts towards the patience; a cut resets the count.
#[test]
fn plateau_cuts_after_its_patience() {
    let mut scheduler = Scheduler::new(
        LrSchedule::Plateau {
            patience: 2,
            factor: 0.5,
        },
        0.01,
        20,
    );
    let losses = [1.0, 0.99995, 0.9999, 0.5, 0.5, 0.5, 0.4, 0.5, 0.5];
    let cuts = [false, false, true, false, false, true, false, false, true];
    let rates = [0.01, 0.01, 0.005, 0.005, 0.005, 0.0025, 0.0025, 0.0025, 0.00125];
    for (epoch, ((&loss, &cut), &rate)) in losses.iter().zip(&cuts).zip(&rates).enumerate() {
        assert_eq!(scheduler.end_epoch(loss), cut, "epoch {}", epoch + 1);
        assert_eq!(scheduler.lr(epoch + 2, 0, 10), rate, "after epoch {}", epoch + 1);
    }
}

/// L2: the penalty is λ·Σw² over the kernels, its gradient 2λw on the kernels; biases untouched.
#[test]
fn l2_weighs_on_kernels_only() {
    let net = DynNetwork::from_spec(2, "2:relu,1:linear").unwrap();
    let params = [
        0.5f32, -1.0, 2.0, 0.25, /* biases */ 3.0, -3.0, /* kernel */ 1.5, -0.5,
        /* bias */ 7.0,
    ];
    let l2 = 0.01;
    let penalty = gradient::l2_penalty(l2, &params, net.specs(), net.offsets());
    let squares = 0.25 + 1.0 + 4.0 + 0.0625 + 2.25 + 0.25;
    assert!(
        (f64::from(penalty) - 0.01 * squares).abs() < 1e-8,
        "penalty {penalty}"
    );
    let rules = GradientRules { l2, clip: Clip::None };
    let mut grads = [2.0f32; 9];
    gradient::finish(&mut grads, &params, 4, net.specs(), net.offsets(), &rules);
    for (i, (&g, &w)) in grads.iter().zip(&params).enumerate() {
        let kernel = !matches!(i, 4 | 5 | 8);
        let expected = 0.5 + if kernel { 2.0 * l2 * w } else { 0.0 };
        assert!(
            (g - expected).abs() < 1e-7,
            "gradient {i}: {g}, expected {expected}"
        );
    }
    // The gradient is the penalty's derivative: a central difference on each kernel weight.
    let mut nudged = params;
    nudged[3] += 1e-2;
    let up = gradient::l2_penalty(l2, &nudged, net.specs(), net.offsets());
    nudged[3] -= 2e-2;
    let down = gradient::l2_penalty(l2, &nudged, net.specs(), net.offsets());
    assert!((f64::from(up - down) / 2e-2 - 2.0 * 0.01 * 0.25).abs() < 1e-5);
}

/// Dropout drops the share it is told and keeps each output's expected value.
#[test]
fn dropout_keeps_the_expected_activation() {
    for rate in [0.1f32, 0.5, 0.8] {
        let (mut dropped, mut total, mut sum) = (0u32, 0u32, 0.0f64);
        for sample in 0..4000 {
            let key = row_key(42, 9, sample);
            for unit in 0..50 {
                let m = keep_scale(key, 1, unit, rate);
                dropped += u32::from(m == 0.0);
                total += 1;
                sum += f64::from(m);
            }
        }
        let share = f64::from(dropped) / f64::from(total);
        let mean = sum / f64::from(total);
        assert!(
            (share - f64::from(rate)).abs() < 0.01,
            "rate {rate}: {share} dropped"
        );
        assert!((mean - 1.0).abs() < 0.02, "rate {rate}: mean factor {mean}");
    }
    // Another step, sample or layer draws another mask.
    let masks = |key: u64, layer: usize| -> Vec<bool> {
        (0..64).map(|u| keep_scale(key, layer, u, 0.5) == 0.0).collect()
    };
    let base = masks(row_key(1, 1, 1), 0);
    assert_ne!(base, masks(row_key(1, 2, 1), 0));
    assert_ne!(base, masks(row_key(1, 1, 2), 0));
    assert_ne!(base, masks(row_key(1, 1, 1), 1));
}

/// Six samples of class a, two of b, one of c, as a classifier's data set.
fn unbalanced() -> Dataset {
    let text = "x,label\n1,a\n2,a\n3,a\n4,a\n5,a\n6,a\n7,b\n8,b\n9,c\n";
    let table = Table::from_reader_with(
        std::path::Path::new("unbalanced.csv"),
        text.as_bytes(),
        Some("label"),
    )
    .unwrap();
    Dataset::from_table(&table, "label", Task::Classes(3)).unwrap()
}

#[test]
fn class_weights_balance_or_follow_the_given_ones() {
    let data = unbalanced();
    let balanced = ClassWeights::Balanced.resolve(&data).unwrap();
    // samples / (classes · count): 9 / (3·6), 9 / (3·2), 9 / (3·1).
    assert_eq!(balanced, vec![0.5, 1.5, 3.0]);
    let given: ClassWeights = "c:4,1:2.5".parse().unwrap();
    assert_eq!(given.resolve(&data).unwrap(), vec![1.0, 2.5, 4.0]);
    let unknown: ClassWeights = "d:2".parse().unwrap();
    let message = unknown.resolve(&data).unwrap_err().to_string();
    assert!(
        message.contains("no class 'd' (the classes: 0 (a), 1 (b), 2 (c))"),
        "{message}"
    );
    assert!("1:-2".parse::<ClassWeights>().is_err());
    let regression = Dataset::from_xy(&[(0.0, 1.0), (1.0, 2.0)]);
    assert!(ClassWeights::Balanced.resolve(&regression).is_err());
}

/// Every option at once gives the same bytes on one thread or two, and changes the result.
#[test]
fn every_option_gives_the_same_bytes_on_one_or_two_threads() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/digits.csv")).unwrap();
    let table = Table::from_reader(std::path::Path::new("digits.csv"), text.as_bytes()).unwrap();
    let mut data = Dataset::from_table(&table, "label", Task::Classes(10)).unwrap();
    data.features.iter_mut().for_each(|v| *v /= 16.0);
    let train = |threads: usize, options: bool| -> Vec<u32> {
        let mut rng = Rng::new(5);
        let mut net = DynNetwork::from_spec(64, "24:relu,16:tanh,10:softmax").unwrap();
        net.init(Init::GlorotUniform, &mut rng);
        let mut config = TrainConfig::new(Loss::CrossEntropy);
        config.epochs = 3;
        config.threads = threads;
        if options {
            config.optimizer = Optimizer::from_name("rmsprop", None).unwrap();
            config.weight_decay = 0.01;
            config.gradient = GradientRules {
                l2: 1e-3,
                clip: Clip::Norm(1.0),
            };
            config.schedule = LrSchedule::Cosine { warmup: 1 };
            config.dropout = vec![0.3, 0.1];
            config.class_weights = ClassWeights::Balanced;
        }
        let history = fit(&mut net, &data, None, &config, &mut rng, &mut |_| {}).unwrap();
        assert_eq!(history.lr.len(), 3);
        net.params().iter().map(|p| p.to_bits()).collect()
    };
    let (one, two) = (train(1, true), train(2, true));
    assert_eq!(one, two, "1 and 2 threads differ");
    assert_ne!(one, train(2, false), "the options changed nothing");
}

/// The folds of `cv`: every row held out exactly once, the rest trained on, each class
/// spread evenly (iris: 50 of each class, 5 folds of 10 + 10 + 10), and the regression cut
/// into sizes one apart.
#[test]
fn folds_hold_each_row_out_once_and_spread_the_classes() {
    use host_trainer::cv::folds;
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/iris.csv")).unwrap();
    let table = Table::from_reader(std::path::Path::new("iris.csv"), text.as_bytes()).unwrap();
    let iris = Dataset::from_table(&table, "label", Task::Classes(3)).unwrap();
    let cut = folds(&iris, 5, &mut Rng::new(3)).unwrap();
    let mut held = vec![0; iris.len()];
    for fold in &cut {
        let mut counts = [0; 3];
        for &i in &fold.test {
            held[i] += 1;
            counts[iris.labels[i]] += 1;
        }
        assert_eq!(counts, [10, 10, 10]);
        assert_eq!(fold.train.len() + fold.test.len(), iris.len());
        assert!(fold.train.iter().all(|i| !fold.test.contains(i)));
    }
    assert!(held.iter().all(|&n| n == 1));
    assert_eq!(
        cut,
        folds(&iris, 5, &mut Rng::new(3)).unwrap(),
        "same seed, same folds"
    );
    assert_ne!(cut, folds(&iris, 5, &mut Rng::new(4)).unwrap());
    let rows: Vec<(f32, f32)> = (0..23).map(|i| (i as f32, 0.0)).collect();
    let sizes: Vec<usize> = folds(&Dataset::from_xy(&rows), 4, &mut Rng::new(1))
        .unwrap()
        .iter()
        .map(|f| f.test.len())
        .collect();
    assert_eq!(sizes, [6, 6, 6, 5]);
    assert!(folds(&iris, 1, &mut Rng::new(1)).is_err());
    assert!(folds(&iris, 151, &mut Rng::new(1)).is_err());
}

/// What the regularizers are for: on breast-cancer data (569 rows, 30 features) a
/// 30-32 relu-1 sigmoid network overfits, and L2 or dropout lowers its held-out loss
/// (3-fold cross-validation, the same folds and initial weights for the three). Seeds 1-4
/// measured: L2 0.01 0.40-0.45 of the plain loss, dropout 0.5 0.77-0.83.
#[test]
fn l2_and_dropout_lower_the_held_out_loss_of_an_overfitting_network() {
    use host_trainer::cv::{CvSetup, cross_validate};
    use host_trainer::{Normalize, Optimizer};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/breast_cancer.csv");
    let table = Table::read_csv(std::path::Path::new(path)).unwrap();
    let raw = Dataset::from_table(&table, "malignant", Task::Binary).unwrap();
    let specs = DynNetwork::parse_spec(30, "32:relu,1:sigmoid").unwrap();
    let held_out_loss = |configure: &dyn Fn(&mut TrainConfig)| -> (f64, f64) {
        let mut config = TrainConfig::new(Loss::BinaryCrossEntropy);
        config.optimizer = Optimizer::adam(0.01);
        config.epochs = 100;
        configure(&mut config);
        let setup = CvSetup {
            specs: &specs,
            init: Init::GlorotUniform,
            config: &config,
            normalize: Normalize::Standard,
            val_share: 0.0,
            folds: 3,
        };
        let summary = cross_validate(&raw, &setup, &mut Rng::new(1), &mut |_, _| {}).unwrap();
        (summary.loss.mean, summary.accuracy.unwrap().mean)
    };
    let plain = held_out_loss(&|_| {});
    let l2 = held_out_loss(&|c| c.gradient.l2 = 0.01);
    let dropout = held_out_loss(&|c| c.dropout = vec![0.5]);
    assert!(l2.0 < 0.6 * plain.0, "held-out loss: L2 {l2:?}, none {plain:?}");
    assert!(
        dropout.0 < 0.9 * plain.0,
        "held-out loss: dropout {dropout:?}, none {plain:?}"
    );
    for (name, (_, accuracy)) in [("none", plain), ("l2", l2), ("dropout", dropout)] {
        assert!(accuracy > 0.95, "{name}: held-out accuracy {accuracy}");
    }
}

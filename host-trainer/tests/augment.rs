//! Augmentation: seeded, fresh each epoch, and whether it helps on a real small data set.

#![allow(clippy::unwrap_used)] // tests may unwrap

use host_trainer::{
    Augment, Dataset, DynNetwork, Normalize, Rng, Scaling, Table, Task, TrainConfig, evaluate, fit,
};
use nn_core::{Init, Loss};

/// Digits with only `fraction` of the training split, 64-32 relu-10 softmax; test accuracy.
fn digits_accuracy(augment: Augment, fraction: f32, seed: u64) -> f32 {
    let table = Table::read_csv(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/digits.csv").as_ref()).unwrap();
    let data = Dataset::from_table(&table, "label", Task::Classes(10)).unwrap();
    let mut rng = Rng::new(seed);
    let (train, mut test) = data.split(0.25, &mut rng);
    let (_, mut small) = train.split(fraction, &mut rng);
    let scaling = Scaling::fit(Normalize::Standard, &small).unwrap();
    scaling.apply(&mut small);
    scaling.apply(&mut test);
    let mut net = DynNetwork::from_spec(64, "32:relu,10:softmax").unwrap();
    net.init(Init::GlorotUniform, &mut rng);
    let config = TrainConfig {
        epochs: 200,
        augment,
        ..TrainConfig::new(Loss::CrossEntropy)
    };
    fit(&mut net, &small, None, &config, &mut rng, &mut |_| {}).unwrap();
    evaluate(&net, &test, Loss::CrossEntropy).accuracy.unwrap()
}

#[test]
fn augmentation_on_a_tenth_of_digits() {
    let cases = [
        ("none", Augment::default()),
        (
            "noise 0.5",
            Augment {
                noise: 0.5,
                ..Augment::default()
            },
        ),
        (
            "scale 0.3",
            Augment {
                scale: 0.3,
                ..Augment::default()
            },
        ),
        (
            "mixup 0.2",
            Augment {
                mixup: Some(0.2),
                ..Augment::default()
            },
        ),
        (
            "noise+mixup",
            Augment {
                noise: 0.5,
                mixup: Some(0.2),
                ..Augment::default()
            },
        ),
    ];
    let seeds = [1, 2, 3];
    let mut means = Vec::new();
    for (name, augment) in cases {
        let accuracies: Vec<f32> = seeds.iter().map(|&s| digits_accuracy(augment, 0.1, s)).collect();
        let mean = accuracies.iter().sum::<f32>() / accuracies.len() as f32;
        println!("{name:<12} test accuracy {mean:.4} (seeds: {accuracies:?})");
        means.push(mean);
    }
    // Measured: none 0.905, noise 0.914, scale 0.902, mixup 0.906, noise+mixup 0.920. Noise
    // helps on every seed's mean; scaling and mixup alone do not (README says so).
    assert!(means[1] > means[0] + 0.004, "noise: {means:?}");
    assert!(means[4] > means[0] + 0.008, "noise+mixup: {means:?}");
}

#[test]
fn augmentation_is_seeded_fresh_each_epoch_and_thread_independent() {
    let table = Table::read_csv(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/iris.csv").as_ref()).unwrap();
    let data = Dataset::from_table(&table, "label", Task::Classes(3)).unwrap();
    let augment = Augment {
        noise: 0.1,
        scale: 0.1,
        mixup: Some(0.4),
    };
    let mut rng = Rng::new(9);
    let (first, second) = (augment.apply(&data, &mut rng), augment.apply(&data, &mut rng));
    assert_ne!(first.features, second.features, "every epoch draws afresh");
    assert_eq!(first.features.len(), data.features.len());
    for t in first.targets.chunks(3) {
        assert!(
            (t.iter().sum::<f32>() - 1.0).abs() < 1e-5,
            "mixed one-hot targets still sum to 1: {t:?}"
        );
    }
    assert_eq!(
        augment.apply(&data, &mut Rng::new(9)).features,
        first.features,
        "same seed, same draws"
    );
    let train = |threads| {
        let mut net = DynNetwork::from_spec(4, "8:relu,3:softmax").unwrap();
        net.init(Init::GlorotUniform, &mut Rng::new(1));
        let config = TrainConfig {
            epochs: 5,
            threads,
            augment,
            ..TrainConfig::new(Loss::CrossEntropy)
        };
        fit(&mut net, &data, None, &config, &mut Rng::new(2), &mut |_| {}).unwrap();
        net
    };
    assert_eq!(train(1), train(2));
    assert_ne!(train(1), {
        let mut net = DynNetwork::from_spec(4, "8:relu,3:softmax").unwrap();
        net.init(Init::GlorotUniform, &mut Rng::new(1));
        let config = TrainConfig {
            epochs: 5,
            threads: 1,
            ..TrainConfig::new(Loss::CrossEntropy)
        };
        fit(&mut net, &data, None, &config, &mut Rng::new(2), &mut |_| {}).unwrap();
        net
    });
    let bad = Augment {
        scale: 1.5,
        ..Augment::default()
    };
    assert!(bad.check(&data).is_err());
}

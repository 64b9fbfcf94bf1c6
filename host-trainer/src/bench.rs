//! `host-trainer bench`: training throughput on the example networks, next to the figures
//! PyTorch and Keras reach on this machine (from the host-trainer issue).

use nn_core::{Init, Loss};

use crate::data::{Dataset, Normalize, Scaling, Table, Task};
use crate::error::Error;
use crate::metrics::evaluate;
use crate::network::DynNetwork;
use crate::rng::Rng;
use crate::synth::Synthetic;
use crate::train::{TrainConfig, fit};

/// Options of `host-trainer bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The digits CSV (default: data/digits.csv under the current directory).
    #[arg(long, default_value = "data/digits.csv")]
    digits: std::path::PathBuf,
    /// Run each case this many times and report the best.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Threads per batch (default: 2 where there are two cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Only the cases whose name contains this.
    #[arg(long)]
    only: Option<String>,
}

/// One benchmark case.
struct Case {
    name: &'static str,
    layers: &'static str,
    data: Dataset,
    loss: Loss,
    epochs: usize,
    batch: usize,
    init: Init,
    /// PyTorch and Keras samples/s on this machine, where the issue gives them.
    peers: Option<(u32, u32)>,
}

fn random_classes(samples: usize, features: usize, classes: usize, rng: &mut Rng) -> Dataset {
    let labels: Vec<usize> = (0..samples).map(|_| rng.below(classes)).collect();
    Dataset {
        feature_names: (0..features).map(|f| format!("f{f}")).collect(),
        features: (0..samples * features).map(|_| rng.uniform()).collect(),
        targets: labels
            .iter()
            .flat_map(|&l| (0..classes).map(move |c| f32::from(u8::from(c == l))))
            .collect(),
        labels,
        class_names: Vec::new(),
        task: Task::Classes(classes),
    }
}

fn cases(args: &BenchArgs) -> Result<Vec<Case>, Error> {
    let mut rng = Rng::new(1);
    let square = Dataset::from_xy(&Synthetic::Square.generate(100, 0.0, &mut rng));
    let mut sine = Dataset::from_xy(&Synthetic::Sine.generate(1000, 0.1, &mut rng));
    if let Some(s) = Scaling::fit(Normalize::Standard, &sine) {
        s.apply(&mut sine);
    }
    let table = Table::read_csv(&args.digits)?;
    let (mut digits, _) = Dataset::from_table(&table, "label", Task::Classes(10))?.split(0.25, &mut rng);
    if let Some(s) = Scaling::fit(Normalize::Divide(16.0), &digits) {
        s.apply(&mut digits);
    }
    let wide = random_classes(10_000, 784, 10, &mut rng);
    let mse = Loss::MeanSquaredError;
    let ce = Loss::CrossEntropy;
    Ok(vec![
        Case {
            name: "tutorial 1-1-1",
            layers: "1:linear,1:linear",
            data: square.clone(),
            loss: mse,
            epochs: 1000,
            batch: 32,
            init: Init::GlorotUniform,
            peers: Some((64_000, 3_000)),
        },
        Case {
            name: "tutorial 1-16-1",
            layers: "16:tanh,1:linear",
            data: square,
            loss: mse,
            epochs: 1000,
            batch: 32,
            init: Init::HeUniform,
            peers: None,
        },
        Case {
            name: "sine 1-16-16-1",
            layers: "16:relu,16:relu,1:linear",
            data: sine,
            loss: mse,
            epochs: 500,
            batch: 32,
            init: Init::GlorotUniform,
            peers: Some((58_000, 14_000)),
        },
        Case {
            name: "digits 64-32-10",
            layers: "32:relu,10:softmax",
            data: digits,
            loss: ce,
            epochs: 100,
            batch: 32,
            init: Init::GlorotUniform,
            peers: Some((67_000, 16_000)),
        },
        Case {
            name: "784-128-10",
            layers: "128:relu,10:softmax",
            data: wide,
            loss: ce,
            epochs: 3,
            batch: 64,
            init: Init::GlorotUniform,
            peers: Some((77_000, 23_000)),
        },
    ])
}

/// Prints samples per second for each case (best of `repeat` runs) with the final loss.
///
/// # Errors
/// [`Error::Data`] if the digits file cannot be read.
pub fn run(args: &BenchArgs) -> Result<(), Error> {
    println!(
        "{:<18} {:>8} {:>6} {:>6} {:>14} {:>10} {:>10} {:>11}",
        "case", "samples", "epochs", "batch", "samples/s", "PyTorch", "Keras", "loss (seed 1)"
    );
    for case in cases(args)?
        .into_iter()
        .filter(|c| args.only.as_ref().is_none_or(|o| c.name.contains(o.as_str())))
    {
        let mut best = 0.0f64;
        let mut loss = 0.0;
        for repeat in 0..args.repeat.max(1) {
            let mut rng = Rng::new(repeat as u64 + 1);
            let mut net = DynNetwork::from_spec(case.data.feature_count(), case.layers)?;
            net.init(case.init, &mut rng);
            let mut config = TrainConfig::new(case.loss);
            config.epochs = case.epochs;
            config.batch = case.batch;
            config.threads = args.threads.unwrap_or(config.threads);
            let history = fit(&mut net, &case.data, None, &config, &mut rng, &mut |_| {})?;
            best = best.max(history.samples_per_second());
            if repeat == 0 {
                loss = evaluate(&net, &case.data, case.loss).loss;
            }
        }
        let (torch, keras) = case
            .peers
            .map_or(("-".into(), "-".into()), |(t, k)| (t.to_string(), k.to_string()));
        println!(
            "{:<18} {:>8} {:>6} {:>6} {:>14.0} {:>10} {:>10} {:>11.6}",
            case.name,
            case.data.len(),
            case.epochs,
            case.batch,
            best,
            torch,
            keras,
            loss
        );
    }
    Ok(())
}

//! `host-trainer bench`: training throughput on the example networks, measured here and now
//! (the median of a few runs; the CPU and the build are printed with it). Peers are measured
//! side by side by `scripts/speed-side.sh`, never quoted from another machine.

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
    /// Run each case this many times and report the median.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Report the best run instead of the median.
    #[arg(long)]
    best: bool,
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
        },
        Case {
            name: "tutorial 1-16-1",
            layers: "16:tanh,1:linear",
            data: square,
            loss: mse,
            epochs: 1000,
            batch: 32,
            init: Init::HeUniform,
        },
        Case {
            name: "sine 1-16-16-1",
            layers: "16:relu,16:relu,1:linear",
            data: sine,
            loss: mse,
            epochs: 500,
            batch: 32,
            init: Init::GlorotUniform,
        },
        Case {
            name: "digits 64-32-10",
            layers: "32:relu,10:softmax",
            data: digits,
            loss: ce,
            epochs: 100,
            batch: 32,
            init: Init::GlorotUniform,
        },
        Case {
            name: "784-128-10",
            layers: "128:relu,10:softmax",
            data: wide,
            loss: ce,
            epochs: 3,
            batch: 64,
            init: Init::GlorotUniform,
        },
    ])
}

/// Prints samples per second for each case (the median, or with `--best` the best, of
/// `repeat` runs of the training loop) with the final loss, then how and where it measured.
///
/// # Errors
/// [`Error::Data`] if the digits file cannot be read.
pub fn run(args: &BenchArgs) -> Result<(), Error> {
    println!(
        "{:<18} {:>8} {:>6} {:>6} {:>14} {:>13}",
        "case", "samples", "epochs", "batch", "samples/s", "loss (seed 1)"
    );
    let runs = args.repeat.max(1);
    // The threads every case trains with (said even when no case runs).
    let threads = args
        .threads
        .unwrap_or(TrainConfig::new(Loss::MeanSquaredError).threads);
    for case in cases(args)?
        .into_iter()
        .filter(|c| args.only.as_ref().is_none_or(|o| c.name.contains(o.as_str())))
    {
        let mut speeds = Vec::with_capacity(runs);
        let mut loss = 0.0;
        for repeat in 0..runs {
            let mut rng = Rng::new(repeat as u64 + 1);
            let mut net = DynNetwork::from_spec(case.data.feature_count(), case.layers)?;
            net.init(case.init, &mut rng);
            let mut config = TrainConfig::new(case.loss);
            config.epochs = case.epochs;
            config.batch = case.batch;
            config.threads = threads;
            let history = fit(&mut net, &case.data, None, &config, &mut rng, &mut |_| {})?;
            speeds.push(history.samples_per_second());
            if repeat == 0 {
                loss = evaluate(&net, &case.data, case.loss).loss;
            }
        }
        speeds.sort_by(f64::total_cmp);
        let speed = if args.best {
            speeds[runs - 1]
        } else {
            speeds[runs / 2]
        };
        println!(
            "{:<18} {:>8} {:>6} {:>6} {:>14.0} {:>13.6}",
            case.name,
            case.data.len(),
            case.epochs,
            case.batch,
            speed,
            loss
        );
    }
    println!(
        "\nsamples/s: {} of {runs} runs of the training loop, {threads} thread(s); CPU: {}; build: {}",
        if args.best { "best" } else { "median" },
        cpu_model(),
        simd_level()
    );
    Ok(())
}

/// The CPU's model name (Linux's /proc/cpuinfo) and core count.
fn cpu_model() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    format!("{}, {cores} cores", describe_cpu(&info))
}

/// The CPU as `/proc/cpuinfo` names it, with its x86 family and model numbers when given
/// (a virtual machine often shows a bare "AMD EPYC"; family 23 model 49 says Zen 2), else
/// the architecture.
fn describe_cpu(info: &str) -> String {
    let field = |key: &str| {
        info.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim() == key)
            .map(|(_, value)| value.trim().to_owned())
    };
    let name = field("model name").unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    match (field("cpu family"), field("model")) {
        (Some(family), Some(model)) => format!("{name} (family {family}, model {model})"),
        _ => name,
    }
}

/// The widest vector instructions this build was compiled for.
fn simd_level() -> &'static str {
    if cfg!(target_feature = "avx512f") {
        "AVX-512"
    } else if cfg!(target_feature = "avx2") {
        "AVX2"
    } else if cfg!(target_feature = "neon") {
        "NEON"
    } else {
        "no wide vectors"
    }
}

#[cfg(test)]
mod tests {
    use super::describe_cpu;

    #[test]
    fn the_cpu_is_named_with_its_family_and_model() {
        let info = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 23\nmodel\t\t: 49\nmodel name\t: AMD EPYC\n";
        assert_eq!(describe_cpu(info), "AMD EPYC (family 23, model 49)");
        assert_eq!(describe_cpu("model name\t: Apple M2\n"), "Apple M2");
        assert_eq!(describe_cpu(""), std::env::consts::ARCH);
    }
}

//! Helpers for the cross-crate tests in `tests/tests/`: train a model with host-trainer,
//! write its weight file, build the firmware and run it under QEMU.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

pub mod cost;

use host_trainer::export::{Golden, ModelNames, encode_int8_model, encode_model};
use host_trainer::{Dataset, DynNetwork, Rng, Scaling, TrainConfig, fit};
use nn_core::{Init, Loss};

/// The firmware targets: the emulated Cortex-M4F (mps2-an386) and Cortex-M0 (microbit).
pub const TARGETS: [&str; 2] = ["thumbv7em-none-eabihf", "thumbv6m-none-eabi"];

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nn-mcu-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

static BUILD: Mutex<()> = Mutex::new(());

/// Builds the firmware (release) for `target` and returns its ELF.
///
/// # Panics
/// If the build fails.
pub fn firmware(target: &str) -> PathBuf {
    build_firmware(target, &[], "target")
}

/// Builds the firmware for f32 files only (`--no-default-features`: nn-core's int8 loader
/// left out, the configuration of the 4 KB loader) for `target`, in a target directory of
/// its own, and returns its ELF.
///
/// # Panics
/// If the build fails.
pub fn firmware_f32_only(target: &str) -> PathBuf {
    build_firmware(target, &["--no-default-features"], "target/f32-only")
}

/// Builds a size probe of the firmware (`--features size-f32` or `size-int8`: it only
/// loads, checks and runs the sine model; `all_kinds` false leaves nn-core's int8 loader
/// out) for `target`, in the target directory `scripts/firmware-size.sh` uses, and returns
/// its ELF.
///
/// # Panics
/// If the build fails.
pub fn size_probe(target: &str, feature: &str, all_kinds: bool) -> PathBuf {
    let (args, dir): (&[&str], String) = if all_kinds {
        (&["--features", feature], format!("target/{feature}"))
    } else {
        (
            &["--no-default-features", "--features", feature],
            format!("target/{feature}-only"),
        )
    };
    build_firmware(target, args, &dir)
}

/// Builds the firmware for `target` with typed networks compiled for the shapes of
/// `models` (`NN_MODELS`), in a target directory of its own, and returns its ELF.
///
/// # Panics
/// If the build fails.
pub fn firmware_with_models(target: &str, models: &[&Path]) -> PathBuf {
    let named: Vec<String> = models.iter().map(|m| m.display().to_string()).collect();
    build_firmware_with(target, &[], "target/nn-models", Some(&named.join(",")))
}

fn build_firmware(target: &str, args: &[&str], target_dir: &str) -> PathBuf {
    build_firmware_with(target, args, target_dir, None)
}

/// Builds the firmware; `nn_models` is `NN_MODELS` (unset when `None`).
fn build_firmware_with(target: &str, args: &[&str], target_dir: &str, nn_models: Option<&str>) -> PathBuf {
    let _one_at_a_time = BUILD.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = root().join("firmware-example");
    let mut command = Command::new(env!("CARGO"));
    match nn_models {
        Some(models) => command.env("NN_MODELS", models),
        None => command.env_remove("NN_MODELS"),
    };
    let status = command
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            target,
            "--target-dir",
            target_dir,
        ])
        .args(args)
        .current_dir(&dir)
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .expect("run cargo");
    assert!(
        status.success(),
        "building the firmware for {target} {args:?} failed"
    );
    dir.join(target_dir).join(target).join("release/firmware-example")
}

/// What a firmware run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    /// Exit status of QEMU (the firmware's).
    pub code: Option<i32>,
    /// Everything printed.
    pub output: String,
}

impl Run {
    /// The line starting with `prefix`.
    ///
    /// # Panics
    /// If there is none.
    pub fn line(&self, prefix: &str) -> &str {
        self.output
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line in:\n{}", self.output))
    }

    /// The value of `key=` in the line starting with `prefix`.
    pub fn field(&self, prefix: &str, key: &str) -> String {
        let line = self.line(prefix);
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in {line}"))
            .to_owned()
    }
}

/// Runs `elf` under QEMU (through the firmware's runner) with `model` in its flash region
/// (`None`: the region left empty).
///
/// # Panics
/// If QEMU cannot be started.
pub fn run_firmware(elf: &Path, model: Option<&Path>) -> Run {
    run_firmware_with_store(elf, model, None)
}

/// As [`run_firmware`], with `store` (an image of the adapted-model store's slots) loaded
/// into the board's store region, as if written before a reset.
///
/// # Panics
/// If QEMU cannot be started.
pub fn run_firmware_with_store(elf: &Path, model: Option<&Path>, store: Option<&Path>) -> Run {
    let runner = root().join("firmware-example/qemu-run.sh");
    let model = model.map_or_else(|| "none".into(), |m| m.display().to_string());
    let mut command = Command::new(runner);
    command.arg(elf).arg(model);
    if let Some(store) = store {
        command.env("FIRMWARE_STORE", store);
    }
    let out = command.output().expect("run qemu-run.sh");
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    Run {
        code: out.status.code(),
        output,
    }
}

/// Trains a network of `layers` on `data` for `epochs` (standard normalization, seed
/// `seed`) and writes its weight file with `golden` test vectors and the data's names (the
/// target named `target`) to `path`.
///
/// # Panics
/// If training or writing fails.
pub fn train_and_write(
    data: &Dataset,
    layers: &str,
    loss: Loss,
    epochs: usize,
    seed: u64,
    golden: usize,
    path: &Path,
) -> DynNetwork {
    let mut rng = Rng::new(seed);
    let scaling = Scaling::fit(host_trainer::Normalize::Standard, data);
    let mut train = data.clone();
    if let Some(s) = &scaling {
        s.apply(&mut train);
    }
    let mut net = DynNetwork::from_spec(data.feature_count(), layers).expect("layers");
    net.init(Init::GlorotUniform, &mut rng);
    let config = TrainConfig {
        epochs,
        ..TrainConfig::new(loss)
    };
    fit(&mut net, &train, None, &config, &mut rng, &mut |_| {}).expect("training");
    let vectors = Golden::from_samples(&net, scaling.as_ref(), data, golden, seed);
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let names = ModelNames::of(data, "target");
    let bytes = encode_model(&net, &name, scaling.as_ref(), &vectors, Some(&names), path).expect("encode");
    std::fs::write(path, bytes).expect("write model");
    net
}

/// Quantizes `net` (trained by [`train_and_write`] on `data`, so with its normalization)
/// with `data` as the calibration set and writes the int8 weight file with `golden` test
/// vectors from nn-core's int8 forward to `path`.
///
/// # Panics
/// If quantizing or writing fails.
pub fn quantize_and_write(net: &DynNetwork, data: &Dataset, golden: usize, path: &Path) {
    let scaling = Scaling::fit(host_trainer::Normalize::Standard, data);
    let mut calibration = data.clone();
    if let Some(s) = &scaling {
        s.apply(&mut calibration);
    }
    let qnet = host_trainer::quantize::quantize(net, &calibration).expect("quantize");
    let model = qnet.model();
    let mut predictor = host_trainer::quantize::QPredictor::new(&model);
    let vectors = Golden::from_samples_with(scaling.as_ref(), data, golden, 0, |x| {
        predictor.predict(&model, x).to_vec()
    });
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let names = ModelNames::of(data, "target");
    let bytes =
        encode_int8_model(&qnet, &name, scaling.as_ref(), &vectors, Some(&names), path).expect("encode");
    std::fs::write(path, bytes).expect("write model");
}

//! `host-trainer search` against the emulated boards: the network it writes for a budget
//! runs within that budget as the board counts it, and the cost model predicts shapes it was
//! not fitted to.

#![allow(clippy::unwrap_used)] // tests may unwrap

use clap::Parser;
use host_trainer::cli::Cli;
use host_trainer::cost::{self, Core};
use host_trainer::{Dataset, Rng, Table, Task};
use integration_tests::{TARGETS, firmware, run_firmware, scratch};
use nn_core::runtime::{RunTime, Scratch};
use nn_core::{Model, WeightFile};

/// The case: digits within 2,500 instructions per inference on the Cortex-M4F. The
/// board runs the chosen file bit for bit and counts no more than the budget; its accuracy
/// on the whole data set is reported.
#[test]
fn search_on_digits_fits_the_m4f_budget_as_the_board_measures_it() {
    let dir = scratch("search-digits");
    let out = dir.join("best.nnw");
    let data = integration_tests::root().join("data/digits.csv");
    let args = [
        "host-trainer",
        "search",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "label",
        "--board",
        "mps2-an386",
        "--max-insns",
        "2500",
        "--epochs",
        "30",
        "--lr",
        "0.01",
        "--time",
        "20",
        "--seed",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    host_trainer::cli::run(Cli::parse_from(args)).unwrap();
    let run = run_firmware(&firmware("thumbv7em-none-eabihf"), Some(&out));
    assert_eq!(run.code, Some(0), "{}", run.output);
    assert_eq!(run.field("PARITY", "mismatches"), "0", "{}", run.output);
    let measured: u64 = run.field("BENCH", "insns_per_inference").parse().unwrap();
    assert!(
        measured <= 2500,
        "the board counts {measured} instructions:\n{}",
        run.output
    );
    let bytes = std::fs::read(&out).unwrap();
    let file = WeightFile::parse_exact(&bytes).unwrap();
    let calibration = cost::calibration(Core::CortexM4F, file.kind()).unwrap();
    let predicted = calibration.instructions(file.layers().as_slice());
    let error = (predicted as f64 - measured as f64).abs() / measured as f64;
    assert!(error <= 0.10, "predicted {predicted}, measured {measured}");
    let table = Table::read_csv(&data).unwrap();
    let digits = Dataset::from_table(&table, "label", Task::Classes(10)).unwrap();
    let accuracy = accuracy_on_the_run_time_path(&bytes, &digits);
    eprintln!(
        "search chose {} ({} bytes): {measured} instructions per inference on the board (predicted {predicted}), \
         accuracy {accuracy:.4} on all {} rows",
        file.layers(),
        bytes.len(),
        digits.len()
    );
    assert!(accuracy > 0.85, "accuracy {accuracy}");
}

/// The share of `data`'s rows whose class the weight file `bytes` gets right, run as the
/// board runs it: nn-core's run-time path on the file's own normalization.
fn accuracy_on_the_run_time_path(bytes: &[u8], data: &Dataset) -> f64 {
    let mut words = vec![0u32; bytes.len().div_ceil(4)];
    bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
    let file = WeightFile::parse_exact(&bytemuck::cast_slice::<u32, u8>(&words)[..bytes.len()]).unwrap();
    let mut scratch = Scratch::<256>::new();
    let mut model = RunTime::new(&file, &mut scratch).unwrap();
    let mut output = vec![0.0; model.output_len()];
    let mut right = 0;
    for i in 0..data.len() {
        let mut x = data.x(i).to_vec();
        if let Some(normalization) = file.normalization() {
            normalization.apply(&mut x);
        }
        assert!(model.predict(&x, &mut output));
        right += usize::from(host_trainer::metrics::predicted_class(&output) == data.labels[i]);
    }
    right as f64 / data.len() as f64
}

/// Fresh random shapes (a seed the calibration did not use), measured on both cores and
/// both kinds: on the Cortex-M4F each within 10% of the prediction, on the Cortex-M0 (soft
/// float, whose cost depends on the values; 80 held-out shapes: mean error 6-9%) within 15%
/// on average over these 8.
#[test]
fn the_cost_model_predicts_shapes_it_was_not_fitted_to() {
    let dir = scratch("cost-model");
    let mut rng = Rng::new(3);
    let elves: Vec<_> = TARGETS.iter().map(|t| firmware(t)).collect();
    let mut errors: Vec<(Core, f64, String)> = Vec::new();
    for index in 0..8 {
        let shape = integration_tests::cost::random_shape(&mut rng);
        for (target, elf) in TARGETS.iter().zip(&elves) {
            let core = Core::of_target(target).unwrap();
            for (kind, path) in integration_tests::cost::write_files(&shape, core, 3, index, &dir) {
                let run = run_firmware(elf, Some(&path));
                assert_eq!(run.code, Some(0), "{}", run.output);
                let measured: f64 = run.field("BENCH", "insns_per_inference").parse().unwrap();
                let kind = cost::kind_from_name(kind).unwrap();
                let specs = host_trainer::DynNetwork::parse_spec(shape.inputs, &shape.spec).unwrap();
                let predicted = cost::calibration(core, kind).unwrap().instructions(&specs) as f64;
                let what = format!(
                    "{} {} {}-{}: predicted {predicted}, measured {measured}",
                    core.name(),
                    kind.name(),
                    shape.inputs,
                    shape.spec
                );
                errors.push((core, (predicted - measured).abs() / measured, what));
            }
        }
    }
    for (core, error, what) in &errors {
        eprintln!("{what} ({:.1}%)", 100.0 * error);
        if *core == Core::CortexM4F {
            assert!(*error <= 0.10, "{what}");
        }
    }
    let m0: Vec<f64> = errors
        .iter()
        .filter(|e| e.0 == Core::CortexM0)
        .map(|e| e.1)
        .collect();
    assert!(m0.len() >= 8);
    let mean = m0.iter().sum::<f64>() / m0.len() as f64;
    assert!(mean <= 0.15, "Cortex-M0 mean error {mean}");
}

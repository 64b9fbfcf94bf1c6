//! Fits the search's instruction model to measured BENCH figures and says how well it
//! predicts shapes it was not fitted to.
//!
//! `cargo run -p integration-tests --example fit_cost -- FIT.csv HELD_OUT.csv > host-trainer/src/cost_calibration.rs`
//! reads the rows `measure_cost` wrote (`core,kind,inputs,layers,insns,stack_bytes`), fits
//! [`host_trainer::cost::fit`] per core and kind on the first file, measures the error on
//! the second, prints the calibration table as Rust source, and the errors on stderr.
//! After a change to the terms of `cost::features` the old table no longer compiles: give
//! each of its coefficient lists the new length (zeros will do) first.

use host_trainer::DynNetwork;
use host_trainer::cost::{self, Calibration, Core, FEATURE_NAMES, HeldOut};
use nn_core::{LayerSpec, ModelKind};

/// One measured run.
struct Row {
    core: Core,
    kind: ModelKind,
    specs: Vec<LayerSpec>,
    insns: u64,
    stack: usize,
}

fn read(path: &str) -> Vec<Row> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .enumerate()
        .map(|(n, line)| {
            let bad = || {
                panic!(
                    "{path}:{}: expected core,kind,inputs,layers,insns,stack_bytes",
                    n + 1
                )
            };
            let fields: Vec<&str> = line.split(',').collect();
            let [core, kind, inputs, layers, insns, stack] = fields.as_slice() else {
                bad()
            };
            let inputs: usize = inputs.parse().unwrap_or_else(|_| bad());
            Row {
                core: Core::from_name(core).unwrap_or_else(|| bad()),
                kind: cost::kind_from_name(kind).unwrap_or_else(|| bad()),
                specs: DynNetwork::parse_spec(inputs, &layers.replace(' ', ",")).unwrap_or_else(|_| bad()),
                insns: insns.parse().unwrap_or_else(|_| bad()),
                stack: stack.parse().unwrap_or_else(|_| bad()),
            }
        })
        .collect()
}

fn of(rows: &[Row], core: Core, kind: ModelKind) -> Vec<(Vec<LayerSpec>, u64)> {
    rows.iter()
        .filter(|r| r.core == core && r.kind == kind)
        .map(|r| (r.specs.clone(), r.insns))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [fit_path, held_path] = args.as_slice() else {
        eprintln!("usage: fit_cost FIT.csv HELD_OUT.csv > host-trainer/src/cost_calibration.rs");
        std::process::exit(2);
    };
    let (fit_rows, held_rows) = (read(fit_path), read(held_path));
    println!("// Written by `scripts/calibrate-cost.sh` (tests/examples/fit_cost.rs): do not edit by hand.");
    println!("/// The instruction model of each core and kind, fitted to BENCH figures of the emulated");
    println!("/// boards (see the module's documentation), with its error on held-out shapes.");
    println!("pub const CALIBRATION: [Calibration; 4] = [");
    for core in Core::ALL {
        for kind in [ModelKind::F32, ModelKind::Int8] {
            let fit = of(&fit_rows, core, kind);
            let held = of(&held_rows, core, kind);
            let stack_bytes = fit_rows
                .iter()
                .chain(&held_rows)
                .filter(|r| r.core == core && r.kind == kind)
                .map(|r| r.stack)
                .max()
                .unwrap_or(0);
            let mut calibration = Calibration {
                core,
                kind,
                coefficients: cost::fit(core, kind, &fit),
                stack_bytes,
                held_out: HeldOut {
                    shapes: 0,
                    mean: 0.0,
                    within_10_percent: 0.0,
                    max: 0.0,
                },
            };
            calibration.held_out = cost::held_out(&calibration, &held);
            if let Some((specs, measured)) = held.iter().max_by(|a, b| {
                let error = |(s, m): &&(Vec<LayerSpec>, u64)| {
                    (calibration.instructions(s) as f64 - *m as f64).abs() / *m as f64
                };
                error(a).total_cmp(&error(b))
            }) {
                let list: Vec<String> = specs
                    .iter()
                    .map(|s| format!("{}:{}", s.outputs, s.activation))
                    .collect();
                eprintln!(
                    "  worst held out: {}-{} predicted {} measured {measured}",
                    specs.first().map_or(0, |s| s.inputs),
                    list.join(","),
                    calibration.instructions(specs)
                );
            }
            let h = calibration.held_out;
            let fitted = cost::held_out(&calibration, &fit);
            eprintln!(
                "{} {}: fitted to {} shapes (max error {:.1}%), held out {}: mean {:.1}%, {:.0}% within 10%, max {:.1}%",
                core.name(),
                kind.name(),
                fit.len(),
                100.0 * fitted.max,
                h.shapes,
                100.0 * h.mean,
                100.0 * h.within_10_percent,
                100.0 * h.max
            );
            println!("    Calibration {{");
            println!("        core: Core::{core:?},");
            println!("        kind: ModelKind::{kind:?},");
            println!("        coefficients: [");
            for (c, name) in calibration.coefficients.iter().zip(FEATURE_NAMES) {
                println!("            {c:.4}, // {name}");
            }
            println!("        ],");
            println!("        stack_bytes: {stack_bytes},");
            println!(
                "        held_out: HeldOut {{ shapes: {}, mean: {:.4}, within_10_percent: {:.4}, max: {:.4} }},",
                h.shapes, h.mean, h.within_10_percent, h.max
            );
            println!("    }},");
        }
    }
    println!("];");
}

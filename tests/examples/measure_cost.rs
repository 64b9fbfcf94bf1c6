//! Measures what networks of random shapes cost on the emulated boards, the data the
//! search's cost model ([`host_trainer::cost`]) is fitted to and checked against.
//!
//! `cargo run --release -p integration-tests --example measure_cost -- SHAPES SEED OUT.csv`
//! draws `SHAPES` layer lists with `SEED`, writes each as an f32 weight file (and, when its
//! hidden layers are linear or ReLU, as int8), runs it under QEMU on the Cortex-M4F
//! (mps2-an386) and the Cortex-M0 (microbit) through the unmodified firmware's run-time
//! path, and appends one CSV row per run: `core,kind,inputs,layers,insns,stack_bytes`.
//! `scripts/calibrate-cost.sh` runs it and fits the model.

use std::io::Write;
use std::path::Path;

use host_trainer::cost::Core;
use integration_tests::{TARGETS, firmware, run_firmware, scratch};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [count, seed, out] = args.as_slice() else {
        eprintln!("usage: measure_cost SHAPES SEED OUT.csv");
        std::process::exit(2);
    };
    let count: usize = count.parse().expect("SHAPES is a number");
    let seed: u64 = seed.parse().expect("SEED is a number");
    let dir = scratch("measure-cost");
    let mut rng = host_trainer::Rng::new(seed);
    let mut csv = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .expect("open OUT.csv");
    let elves: Vec<_> = TARGETS.iter().map(|t| firmware(t)).collect();
    for index in 0..count {
        let shape = integration_tests::cost::random_shape(&mut rng);
        for (target, elf) in TARGETS.iter().zip(&elves) {
            let core = Core::of_target(target).expect("a known target");
            for (kind, file) in integration_tests::cost::write_files(&shape, core, seed, index, &dir) {
                let run = run_firmware(elf, Some(Path::new(&file)));
                if run.code != Some(0) {
                    eprintln!(
                        "{} {kind} {}: firmware failed:\n{}",
                        core.name(),
                        shape.spec,
                        run.output
                    );
                    continue;
                }
                let insns = run.field("BENCH", "insns_per_inference");
                let stack = run.field("BENCH", "stack_bytes");
                writeln!(
                    csv,
                    "{},{kind},{},{},{insns},{stack}",
                    core.name(),
                    shape.inputs,
                    shape.spec.replace(',', " ")
                )
                .expect("write OUT.csv");
            }
        }
        eprint!("\r{} of {count} shapes", index + 1);
    }
    eprintln!();
}

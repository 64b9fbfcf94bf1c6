//! The firmware under emulation: a model trained here, written by host-trainer's exporter,
//! placed in the emulated board's flash, checked by the board and run bit for bit like the
//! host, on the Cortex-M4F (mps2-an386) and the Cortex-M0 (microbit) builds.

#![allow(clippy::unwrap_used)] // tests may unwrap

use host_trainer::{Dataset, Rng, Synthetic, Table, Task};
use integration_tests::{
    TARGETS, firmware, firmware_f32_only, firmware_with_models, quantize_and_write, run_firmware, scratch,
    size_probe, train_and_write,
};
use nn_core::Loss;

fn sine_model(dir: &std::path::Path) -> std::path::PathBuf {
    let data = Dataset::from_xy(&Synthetic::Sine.generate(300, 0.1, &mut Rng::new(1)));
    let path = dir.join("sine.nnw");
    train_and_write(
        &data,
        "16:relu,16:relu,1:linear",
        Loss::MeanSquaredError,
        30,
        1,
        10,
        &path,
    );
    path
}

/// The run succeeded and its PARITY line says `vectors` vectors of `name`, none different.
fn assert_parity(run: &integration_tests::Run, target: &str, name: &str, vectors: &str) {
    assert_eq!(run.code, Some(0), "{target} {name}:\n{}", run.output);
    assert_eq!(run.field("PARITY", "model"), name);
    assert_eq!(run.field("PARITY", "vectors"), vectors, "{}", run.output);
    assert_eq!(
        run.field("PARITY", "mismatches"),
        "0",
        "{target} {name}:\n{}",
        run.output
    );
}

#[test]
fn the_board_computes_the_host_numbers_bit_for_bit() {
    let dir = scratch("parity");
    let sine = sine_model(&dir);
    let table = Table::read_csv(&integration_tests::root().join("data/digits.csv")).expect("digits");
    let digits_data = Dataset::from_table(&table, "label", Task::Classes(10)).expect("digits");
    let digits = dir.join("digits.nnw");
    train_and_write(
        &digits_data,
        "32:relu,10:softmax",
        Loss::CrossEntropy,
        3,
        2,
        12,
        &digits,
    );
    for target in TARGETS {
        let elf = firmware(target);
        for (model, name, vectors) in [(&sine, "sine", "10"), (&digits, "digits", "12")] {
            let run = run_firmware(&elf, Some(model));
            assert_parity(&run, target, name, vectors);
            assert_eq!(run.field("PARITY", "max_abs_diff"), "0.0");
            let instructions: u32 = run
                .field("BENCH", "insns_per_inference")
                .parse()
                .expect("a count");
            assert!(instructions > 100, "{}", run.output);
            assert_eq!(run.field("BENCH", "kind"), "f32");
            if target.starts_with("thumbv7em") && name == "sine" {
                // A fixed cost: every test vector takes as many instructions as the first. (Not
                // where libm's expf runs, as in the digits softmax, nor on the M0, whose
                // soft-float routines vary with the data.)
                assert_eq!(run.field("BENCH", "spread"), "0", "{}", run.output);
            }
            assert!(run.output.contains("STREAM window="), "{}", run.output);
            // The board prints its outputs next to the expected ones, which are the host's.
            assert!(run.line("vector 0: in=[").contains("expected=["));
            // Counting instructions under -icount repeats exactly.
            let again = run_firmware(&elf, Some(model));
            assert_eq!(again.line("BENCH"), run.line("BENCH"), "{target} {name}");
        }
    }
}

/// On-board fine-tuning: with an offset on the sensor, the sine model's error drops after
/// adapting on streamed samples; the M4F and the M0 adapt to the same bits; the M4F saves
/// the adapted model to its flash slots and reads it back.
#[test]
fn the_board_adapts_to_a_shifted_sensor_and_keeps_the_result() {
    let dir = scratch("finetune");
    let sine = sine_model(&dir);
    let mut lines = Vec::new();
    for target in TARGETS {
        let run = run_firmware(&firmware(target), Some(&sine));
        assert_eq!(run.code, Some(0), "{target}:\n{}", run.output);
        let before: f32 = run.field("FINETUNE model=", "before").parse().unwrap();
        let after: f32 = run.field("FINETUNE model=", "after").parse().unwrap();
        assert!(after < 0.8 * before, "{target}: before {before}, after {after}");
        let ram: usize = run.field("FINETUNE model=", "ram_bytes").parse().unwrap();
        assert!(ram > 0 && ram < 4096, "{ram}");
        assert!(run.line("FINETUNE budget").contains("ram_bytes="));
        if target.starts_with("thumbv7em") {
            assert_eq!(
                run.field("STORE", "reloaded_mse"),
                run.field("FINETUNE model=", "after"),
                "{}",
                run.output
            );
            assert_eq!(run.field("STORE", "sequence"), "1");
        }
        lines.push((
            run.field("FINETUNE model=", "before"),
            run.field("FINETUNE model=", "after"),
        ));
    }
    assert_eq!(lines[0], lines[1], "the M4F and the M0 adapt to the same numbers");
}

/// After a reset the board boots the adapted model its store holds, not the flashed one: a
/// store image laid out by hand (FORMAT of nn_core::store: file, 0xFF, commit record at the
/// end of the 8 KiB slot) in slot 0.
#[test]
fn a_stored_adapted_model_survives_a_reset() {
    let dir = scratch("reset");
    let sine = sine_model(&dir);
    let adapted = dir.join("adapted.nnw");
    let data = Dataset::from_xy(&Synthetic::Sine.generate(300, 0.1, &mut Rng::new(9)));
    train_and_write(
        &data,
        "16:relu,16:relu,1:linear",
        Loss::MeanSquaredError,
        10,
        9,
        3,
        &adapted,
    );
    let file = std::fs::read(&adapted).unwrap();
    let slot = 8192;
    let mut image = vec![0xFFu8; 2 * slot];
    image[..file.len()].copy_from_slice(&file);
    let record = &mut image[slot - 16..slot];
    record[..4].copy_from_slice(b"NNWS");
    record[4..8].copy_from_slice(&5u32.to_le_bytes());
    record[8..12].copy_from_slice(&(file.len() as u32).to_le_bytes());
    record[12..].copy_from_slice(&(!5u32).to_le_bytes());
    let store = dir.join("store.bin");
    std::fs::write(&store, &image).unwrap();
    let elf = firmware(TARGETS[0]);
    let run = integration_tests::run_firmware_with_store(&elf, Some(&sine), Some(&store));
    assert_eq!(run.code, Some(0), "{}", run.output);
    assert!(
        run.output
            .contains("using the adapted model in store slot 0 (sequence 5)"),
        "{}",
        run.output
    );
    assert_eq!(run.field("PARITY", "model"), "adapted");
    assert_eq!(run.field("PARITY", "vectors"), "3");
    assert_eq!(run.field("PARITY", "mismatches"), "0");
    // A torn record (no complement) is ignored: the flashed model runs.
    image[slot - 4..slot].copy_from_slice(&[0xFF; 4]);
    std::fs::write(&store, &image).unwrap();
    let run = integration_tests::run_firmware_with_store(&elf, Some(&sine), Some(&store));
    assert_eq!(run.field("PARITY", "model"), "sine", "{}", run.output);
}

#[test]
fn bad_weight_files_are_refused_with_a_clear_message() {
    let dir = scratch("refusals");
    let sine = sine_model(&dir);
    let mut corrupt = std::fs::read(&sine).expect("model");
    corrupt[100] ^= 0x20;
    let corrupt_path = dir.join("corrupt.nnw");
    std::fs::write(&corrupt_path, &corrupt).expect("write");
    let truncated_path = dir.join("truncated.nnw");
    std::fs::write(&truncated_path, &std::fs::read(&sine).expect("model")[..700]).expect("write");
    for target in TARGETS {
        let elf = firmware(target);
        let cases = [
            (
                Some(corrupt_path.as_path()),
                "error: CRC mismatch: file is corrupt",
            ),
            (None, "error: not a weight file: it starts with bytes 00 00 00 00"),
            // The rest of the region reads as zeros: the CRC does not match them.
            (Some(truncated_path.as_path()), "error: CRC mismatch"),
        ];
        for (model, message) in cases {
            let run = run_firmware(&elf, model);
            assert_eq!(run.code, Some(1), "{target} {model:?}:\n{}", run.output);
            assert!(
                run.output.contains(message),
                "{target}: expected {message:?} in:\n{}",
                run.output
            );
            assert!(!run.output.contains("PARITY"), "{}", run.output);
        }
    }
}

/// int8 files (from host-trainer's quantizer, test vectors from nn-core's int8 forward on
/// the host) run on both cores bit for bit; on the Cortex-M4 the DSP dot products agree
/// with the portable ones; a malformed int8 file is refused with its place.
#[test]
fn int8_files_run_bit_for_bit_on_both_cores() {
    let dir = scratch("int8");
    let data = Dataset::from_xy(&Synthetic::Sine.generate(300, 0.1, &mut Rng::new(1)));
    let sine_f32 = dir.join("sine-f32.nnw");
    let net = train_and_write(
        &data,
        "16:relu,16:relu,1:linear",
        Loss::MeanSquaredError,
        30,
        1,
        4,
        &sine_f32,
    );
    let sine = dir.join("sine.nnw");
    quantize_and_write(&net, &data, 10, &sine);
    let table = Table::read_csv(&integration_tests::root().join("data/digits.csv")).expect("digits");
    let digits_data = Dataset::from_table(&table, "label", Task::Classes(10)).expect("digits");
    let digits_f32 = dir.join("digits-f32.nnw");
    let net = train_and_write(
        &digits_data,
        "32:relu,10:softmax",
        Loss::CrossEntropy,
        3,
        2,
        4,
        &digits_f32,
    );
    let digits = dir.join("digits.nnw");
    quantize_and_write(&net, &digits_data, 12, &digits);
    // The input scale, just after the normalization section, set to zero (CRC fixed up).
    let mut bad = std::fs::read(&sine).expect("model");
    let file = nn_core::WeightFile::parse_exact(&bad).expect("int8 file");
    let normalization = file.normalization().expect("normalized");
    let at = normalization.scale.as_bytes().as_ptr() as usize - bad.as_ptr() as usize + 4;
    bad[at..at + 4].copy_from_slice(&0.0f32.to_le_bytes());
    let end = bad.len() - 4;
    let crc = nn_core::format::crc32(&bad[..end]);
    bad[end..].copy_from_slice(&crc.to_le_bytes());
    let bad_path = dir.join("zero-scale.nnw");
    std::fs::write(&bad_path, &bad).expect("write");
    for target in TARGETS {
        let elf = firmware(target);
        for (model, name, vectors) in [(&sine, "sine", "10"), (&digits, "digits", "12")] {
            let run = run_firmware(&elf, Some(model));
            assert_parity(&run, target, name, vectors);
            assert_eq!(run.field("BENCH", "kind"), "int8");
            if target.starts_with("thumbv7em") {
                assert_eq!(run.field("BENCH", "spread"), "0", "{}", run.output);
            }
            assert!(run.line("model ").contains("format 3"), "{}", run.output);
            if target.starts_with("thumbv7em") {
                assert_eq!(run.field("DSPCHECK", "mismatches"), "0", "{}", run.output);
                assert_eq!(run.field("DSPCHECK", "cases"), "14160");
            } else {
                assert!(!run.output.contains("DSPCHECK"), "the M0 has no DSP path");
            }
        }
        let run = run_firmware(&elf, Some(&bad_path));
        assert_eq!(run.code, Some(1), "{}", run.output);
        assert!(
            run.output
                .contains("error: the input quantization scale is zero or negative"),
            "{target}:\n{}",
            run.output
        );
    } // A firmware built for f32 files only runs the f32 model bit for bit and refuses the
    // int8 one, saying why.
    let elf = firmware_f32_only("thumbv7em-none-eabihf");
    let run = run_firmware(&elf, Some(&sine_f32));
    assert_parity(&run, "f32-only", "sine-f32", "4");
    assert_eq!(run.field("BENCH", "kind"), "f32");
    let run = run_firmware(&elf, Some(&sine));
    assert_eq!(run.code, Some(1), "{}", run.output);
    assert!(
        run.output
            .contains("error: model kind 1 is not supported by this build (0 = f32; int8 files need nn-core's int8 feature)"),
        "{}",
        run.output
    );
}

/// The model code -- loading, validating and running a model, f32 or int8, with or without
/// the int8 loader -- has no panic path at all: the size probes, which hold nothing else,
/// link no panic function on either core.
#[test]
fn the_model_code_has_no_panic_path() {
    for target in TARGETS {
        for (feature, all_kinds) in [("size-f32", false), ("size-f32", true), ("size-int8", true)] {
            let elf = size_probe(target, feature, all_kinds);
            let out = std::process::Command::new("arm-none-eabi-nm")
                .arg("-C")
                .arg(&elf)
                .output()
                .expect("run arm-none-eabi-nm (Debian: binutils-arm-none-eabi)");
            assert!(out.status.success(), "nm {}", elf.display());
            let symbols = String::from_utf8_lossy(&out.stdout);
            assert!(
                symbols.contains("nn_core::format"),
                "{target} {feature}: not a probe?"
            );
            let panics: Vec<&str> = symbols.lines().filter(|l| l.contains("panic")).collect();
            assert!(
                panics.is_empty(),
                "{target} {feature} (int8 loader: {all_kinds}) can panic: {panics:?}"
            );
        }
    }
}

/// A data set of `features` inputs in [-1, 1) and a label naming which third of the inputs
/// sums highest (`first`, `second`, `third`). Written as CSV (`f0..`, `label`) and read back as host-trainer reads data.
fn wide_data(dir: &std::path::Path, features: usize, rows: usize) -> Dataset {
    let mut rng = Rng::new(11);
    let mut csv: Vec<String> = vec![
        (0..features)
            .map(|i| format!("f{i}"))
            .chain(["label".into()])
            .collect::<Vec<_>>()
            .join(","),
    ];
    for _ in 0..rows {
        let x: Vec<f32> = (0..features).map(|_| rng.uniform() * 2.0 - 1.0).collect();
        let third = features / 3;
        let sums: Vec<f32> = (0..3)
            .map(|k| x[k * third..(k + 1) * third].iter().sum())
            .collect();
        let label = (0..3).fold(0, |best, k| if sums[k] > sums[best] { k } else { best });
        csv.push(
            x.iter()
                .map(|v| v.to_string())
                .chain([["first", "second", "third"][label].to_owned()])
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    let path = dir.join(format!("wide-{features}.csv"));
    std::fs::write(&path, csv.join("\n") + "\n").unwrap();
    let table = Table::read_labelled_csv(&path, "label").unwrap();
    Dataset::from_table(&table, "label", Task::Classes(3)).unwrap()
}

/// Everything a run printed about its vectors and streaming: the lines that must be the same
/// bit for bit whichever path ran the model.
fn outputs(run: &integration_tests::Run) -> Vec<String> {
    run.output
        .lines()
        .filter(|l| l.starts_with("vector ") || l.starts_with("STREAM ") || l.starts_with("PARITY "))
        .map(str::to_owned)
        .collect()
}

/// Models of shapes no source names run on the unmodified firmware's run-time path, bit for
/// bit with the host, on both cores: more than 64 inputs (f32, and int8), a tanh hidden
/// layer. A build whose NN_MODELS names them runs them on typed networks (two shapes, one
/// in both kinds) with the same outputs.
#[test]
fn any_shape_runs_on_the_unmodified_firmware_and_on_a_typed_path_by_name() {
    let dir = scratch("any-shape");
    let wide = wide_data(&dir, 100, 300);
    let wide_f32 = dir.join("wide.nnw");
    let net = train_and_write(&wide, "16:relu,3:softmax", Loss::CrossEntropy, 5, 4, 5, &wide_f32);
    let wide_int8 = dir.join("wide-int8.nnw");
    quantize_and_write(&net, &wide, 6, &wide_int8);
    let sine = Dataset::from_xy(&Synthetic::Sine.generate(200, 0.0, &mut Rng::new(3)));
    let tanh = dir.join("tanh.nnw");
    train_and_write(
        &sine,
        "8:tanh,8:sigmoid,1:linear",
        Loss::MeanSquaredError,
        5,
        3,
        4,
        &tanh,
    );
    let cases = [
        (&wide_f32, "wide", "f32", "5"),
        (&wide_int8, "wide-int8", "int8", "6"),
        (&tanh, "tanh", "f32", "4"),
    ];
    for target in TARGETS {
        let generic = firmware(target);
        let typed = firmware_with_models(target, &[&wide_f32, &tanh, &wide_int8]);
        for (model, name, kind, vectors) in cases {
            let run = run_firmware(&generic, Some(model));
            assert_parity(&run, target, name, vectors);
            assert_eq!(run.field("BENCH", "path"), "generic", "{}", run.output);
            assert_eq!(run.field("BENCH", "kind"), kind);
            assert!(
                run.line("capacity: ").contains("units per layer"),
                "{}",
                run.output
            );
            if name.starts_with("wide") {
                // The classes by the names the file carries.
                let class = run.field("vector 0: ", "class");
                assert!(
                    ["first", "second", "third"].contains(&class.as_str()),
                    "{}",
                    run.output
                );
                // Streamed sample by sample, the window is the first vector when full.
                let expected = run.line("vector 0: ").split(" expected=").nth(1).unwrap();
                let expected = expected.split(" class=").next().unwrap();
                let last = run.output.lines().rfind(|l| l.starts_with("STREAM ")).unwrap();
                assert!(last.starts_with("STREAM window=100 "), "{last}");
                assert_eq!(last.split(" out=").nth(1).unwrap(), expected, "{}", run.output);
            }
            let on_typed = run_firmware(&typed, Some(model));
            assert_parity(&on_typed, target, name, vectors);
            assert_eq!(on_typed.field("BENCH", "path"), "typed", "{}", on_typed.output);
            assert_eq!(
                outputs(&on_typed),
                outputs(&run),
                "{target} {name}: typed and generic differ"
            );
        }
        // The build says which shapes and kinds it compiled (one shape for both wide files).
        let typed_run = run_firmware(&typed, Some(&dir.join("wide.nnw")));
        assert!(
            typed_run
                .line("capacity: ")
                .contains("typed: 100-16 relu-3 softmax (f32 and int8), 1-8 tanh-8 sigmoid-1 linear (f32)"),
            "{}",
            typed_run.output
        );
    }
}

/// A file wider than the run-time path holds, and a file larger than the model region, are
/// refused with status 1 and a message that says what to do, on both cores.
#[test]
fn files_beyond_the_capacity_or_the_region_are_refused_clearly() {
    let dir = scratch("too-big");
    let sine = Dataset::from_xy(&Synthetic::Sine.generate(50, 0.0, &mut Rng::new(5)));
    let wide = dir.join("wide-layer.nnw");
    train_and_write(&sine, "300:relu,1:linear", Loss::MeanSquaredError, 1, 5, 2, &wide);
    // 1-256-256-1: about 266 KB, larger than either board's model region (256 KiB on the
    // M4F, 64 KiB on the microbit).
    let large = dir.join("large.nnw");
    train_and_write(
        &sine,
        "256:relu,256:relu,1:linear",
        Loss::MeanSquaredError,
        1,
        5,
        2,
        &large,
    );
    let large_bytes = std::fs::read(&large).unwrap();
    for target in TARGETS {
        let elf = firmware(target);
        let run = run_firmware(&elf, Some(&wide));
        assert_eq!(run.code, Some(1), "{target}:\n{}", run.output);
        let board = if target.starts_with("thumbv6m") {
            "microbit"
        } else {
            "mps2-an386"
        };
        let board = host_trainer::boards::board(board).unwrap();
        let capacity = board.run_time_capacity;
        assert!(
            run.output.contains(&format!(
                "error: the model's widest layer has 300 units; this build's run-time path holds {capacity}"
            )) && run.output.contains("NN_MODELS=")
                && run.output.contains("Your own model on the board"),
            "{target}:\n{}",
            run.output
        );
        assert!(!run.output.contains("PARITY"), "{}", run.output);
        let region = board.model_region_bytes;
        // The runner refuses to place it.
        let run = run_firmware(&elf, Some(&large));
        assert_eq!(run.code, Some(1), "{target}:\n{}", run.output);
        assert!(
            run.output.contains(&format!(
                "{} is {} bytes, the model region of",
                large.display(),
                large_bytes.len()
            )) && run.output.contains(&format!("holds {region} bytes")),
            "{target}:\n{}",
            run.output
        );
        // Its first bytes, as many as the region holds: the firmware reads the header's
        // length and refuses before reading past the region.
        let cut = dir.join(format!("large-cut-{target}.nnw"));
        std::fs::write(&cut, &large_bytes[..region]).unwrap();
        let run = run_firmware(&elf, Some(&cut));
        assert_eq!(run.code, Some(1), "{target}:\n{}", run.output);
        assert!(
            run.output.contains(&format!(
                "error: the file's header calls for {} bytes, the model region holds {region}",
                large_bytes.len()
            )),
            "{target}:\n{}",
            run.output
        );
    }
}

/// int8 hidden tanh and sigmoid layers (tables, format version 4): the tutorial's 1-16
/// tanh-1 network and a sigmoid one, quantized, run on both cores bit for bit with the host,
/// at a fixed cost on the Cortex-M4F.
#[test]
fn int8_tanh_and_sigmoid_tables_run_bit_for_bit_on_both_cores() {
    let dir = scratch("int8-tables");
    let data = Dataset::from_xy(&Synthetic::Sine.generate(300, 0.1, &mut Rng::new(3)));
    let mut models = Vec::new();
    for (name, layers) in [
        ("tanh", "16:tanh,1:linear"),
        ("sigmoid", "16:sigmoid,8:tanh,1:linear"),
    ] {
        let net = train_and_write(
            &data,
            layers,
            Loss::MeanSquaredError,
            30,
            1,
            4,
            &dir.join(format!("{name}-f32.nnw")),
        );
        let path = dir.join(format!("{name}.nnw"));
        quantize_and_write(&net, &data, 10, &path);
        let bytes = std::fs::read(&path).expect("model");
        assert_eq!(
            nn_core::WeightFile::parse_exact(&bytes).expect("file").version(),
            4
        );
        models.push((name, path));
    }
    for target in TARGETS {
        let elf = firmware(target);
        for (name, path) in &models {
            let run = run_firmware(&elf, Some(path));
            assert_parity(&run, target, name, "10");
            assert_eq!(run.field("BENCH", "kind"), "int8");
            if target.starts_with("thumbv7em") {
                assert_eq!(run.field("BENCH", "spread"), "0", "{}", run.output);
            }
        }
    }
}

//! Models trained in PyTorch (exported to ONNX) and in Keras (`.keras`, `.h5`, and through
//! the TFLite converter `.tflite`), written by
//! `scripts/onnx-fixtures.py`, imported with `host-trainer import` and run by the unmodified
//! firmware on both emulated cores, bit for bit with the host (the host's match with the
//! frameworks is host-trainer's tests/onnx.rs, tests/keras.rs and tests/tflite.rs, the int8
//! models' with TensorFlow Lite Micro's own kernels included).

#![allow(clippy::unwrap_used)] // tests may unwrap

use clap::Parser;
use host_trainer::cli::Cli;
use integration_tests::{TARGETS, firmware, root, run_firmware, scratch};

#[test]
fn pytorch_keras_and_tflite_models_run_on_the_board_with_no_source_edit() {
    let dir = scratch("import");
    let iris = root().join("data/iris.csv");
    // int8 .tflite files become int8 files of TensorFlow Lite Micro's arithmetic, in either
    // rounding (`--rounding`): the board computes what the host does, bit for bit.
    for (fixture, data, rounding) in [
        ("onnx/torch_iris.onnx", Some(&iris), None),
        ("onnx/torch_sine.onnx", None, None),
        ("onnx/tf2onnx_iris.onnx", Some(&iris), None),
        ("keras/iris.keras", Some(&iris), None),
        ("keras/func.keras", None, None),
        ("keras/keras2.h5", Some(&iris), None),
        ("tflite/iris_f32.tflite", Some(&iris), None),
        ("tflite/iris_int8.tflite", Some(&iris), Some("double")),
        ("tflite/sine_int8.tflite", None, Some("double")),
        ("tflite/sine_int8.tflite", None, Some("single")),
    ] {
        let source = root().join("host-trainer/tests/fixtures").join(fixture);
        let out = dir.join(format!(
            "{}{}.nnw",
            fixture.replace(['/', '.'], "-"),
            rounding.unwrap_or_default()
        ));
        let mut args = vec![
            "host-trainer".to_owned(),
            "import".into(),
            source.display().to_string(),
            "--out".into(),
            out.display().to_string(),
        ];
        if let Some(rounding) = rounding {
            args.extend(["--rounding".into(), rounding.into()]);
        }
        if let Some(data) = data {
            args.extend([
                "--data".into(),
                data.display().to_string(),
                "--target".into(),
                "label".into(),
            ]);
        }
        host_trainer::cli::run(Cli::parse_from(args)).unwrap();
        for target in TARGETS {
            let run = run_firmware(&firmware(target), Some(&out));
            assert_eq!(run.code, Some(0), "{target} {fixture}:\n{}", run.output);
            assert_eq!(run.field("PARITY", "vectors"), "8", "{}", run.output);
            assert_eq!(
                run.field("PARITY", "mismatches"),
                "0",
                "{target} {fixture}:\n{}",
                run.output
            );
            assert_eq!(run.field("BENCH", "path"), "generic");
        }
    }
}

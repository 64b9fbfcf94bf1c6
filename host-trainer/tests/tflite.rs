//! TensorFlow Lite files from the TFLite converter (`scripts/onnx-fixtures.py`: Keras 3.15's
//! iris model, TensorFlow 2.21): the f32 file imports to a network that computes what the
//! TFLite interpreter computed; the int8 files import to int8 files of TensorFlow Lite
//! Micro's arithmetic that give exactly the int8 outputs, dequantized, of TensorFlow Lite
//! Micro's reference kernels (double rounding) or of the TFLite interpreter (single
//! rounding), whichever the file says; damaged files are refused without a panic.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod imports;

use host_trainer::{Rng, tflite};
use nn_core::LayerView;
use nn_core::tflm::Rounding;

fn fixture(name: &str) -> Vec<u8> {
    imports::fixture(&format!("tflite/{name}"))
}

#[test]
fn an_f32_tflite_model_computes_what_the_interpreter_computes() {
    let imported = tflite::import(&fixture("iris_f32.tflite")).unwrap();
    assert_eq!(
        imported.net.layer_list().unwrap().to_string(),
        "4-16 relu-3 softmax"
    );
    assert!(imported.scaling.is_some(), "SUB and MUL before the first layer");
    imports::assert_matches(&imported, "tflite/iris_f32.json", "outputs");
    // The same network as the Keras model it was converted from.
    let keras = host_trainer::keras::import_keras(&imports::fixture("keras/iris.keras")).unwrap();
    assert_eq!(
        keras.net.params(),
        imported.net.params(),
        "TFLite keeps Keras' weights"
    );
}

/// The int8 model `name` read with `rounding`, written as a weight file, read back, and
/// run on every row of `name.json` through nn-core's run-time path: every output equal to
/// the reference's. With [`Rounding::Single`] the reference is the TFLite interpreter of
/// TensorFlow's pip package (its reference kernels; it is built with
/// `TFLITE_SINGLE_ROUNDING`); with [`Rounding::Double`], TensorFlow Lite Micro's own
/// reference kernels in its default build, compiled and run by `scripts/tflm-reference.sh`
/// (`tflm_outputs`). The two references part in 9 of sine's 301 rows, where a product lands
/// near a tie: row 23's `acc · m / 2^38` is 11.49998, one rounding gives 11, two give 12
/// (1471.87 → 1472, then 11.5 → 12), and tanh and sigmoid carry such a step on.
fn assert_int8_exact(name: &str, layers: &str, input_tables: bool, rounding: Rounding) {
    let tflite::TfliteModel::Int8(imported) =
        tflite::read_with(&fixture(&format!("{name}.tflite")), rounding).unwrap()
    else {
        panic!("{name} is an int8 model");
    };
    let model = imported.model();
    assert_eq!(model.input_tables.is_some(), input_tables, "{name}");
    let golden = host_trainer::export::Golden::default();
    let bytes = host_trainer::export::encode_int8_file(
        &model,
        name,
        None,
        &golden,
        None,
        std::path::Path::new("x.nnw"),
    )
    .unwrap();
    let file = host_trainer::quantize::Int8File::new(&bytes).unwrap();
    let parsed = nn_core::WeightFile::parse_exact(file.bytes()).unwrap();
    assert_eq!(
        (parsed.version(), parsed.int8_rules()),
        (5, nn_core::Int8Rules::TfliteMicro)
    );
    assert_eq!(parsed.int8_model().unwrap().rounding, rounding);
    assert_eq!(parsed.layers().to_string(), layers);
    let model = file.model().unwrap();
    let key = match rounding {
        Rounding::Single => "outputs",
        Rounding::Double => "tflm_outputs",
    };
    let rows = imports::reference(&format!("tflite/{name}.json"), key);
    assert!(rows.len() >= 150, "{name}: {} rows", rows.len());
    let mut predictor = host_trainer::quantize::QPredictor::new(&model);
    for (x, expected) in &rows {
        let y = predictor.predict(&model, x);
        assert_eq!(y, expected.as_slice(), "{name} ({rounding:?}): input {x:?}");
    }
}

#[test]
fn int8_tflite_models_compute_exactly_what_tflite_computes() {
    for rounding in [Rounding::Single, Rounding::Double] {
        // SUB and MUL in int8 before the first layer (as tables), per-channel weights, ReLU,
        // softmax; int8 input and output.
        assert_int8_exact("iris_int8", "4-16 relu-3 softmax", true, rounding);
        // Float input and output (QUANTIZE, DEQUANTIZE), per-tensor weights, tanh, sigmoid.
        assert_int8_exact("sine_int8", "1-16 tanh-16 sigmoid-1 linear", false, rounding);
    }
}

#[test]
fn convolutions_are_refused_by_name() {
    // Keras' Conv1D converted, f32 and int8: EXPAND_DIMS then CONV_2D.
    for name in ["conv.tflite", "conv_int8.tflite"] {
        let message = tflite::read(&fixture(name)).unwrap_err().0;
        assert!(message.contains("operator EXPAND_DIMS (output '"), "{message}");
        assert!(
            message.contains("the model has CONV_2D (a convolution)"),
            "{message}"
        );
    }
}

#[test]
fn an_int8_model_is_not_an_f32_one() {
    let message = tflite::import(&fixture("iris_int8.tflite")).unwrap_err().0;
    assert!(message.starts_with("a quantized (int8) model"), "{message}");
}

#[test]
fn damaged_files_are_refused_without_a_panic() {
    for name in [
        "iris_f32.tflite",
        "iris_int8.tflite",
        "sine_int8.tflite",
        "sine_16x8.tflite",
    ] {
        let bytes = fixture(name);
        for len in 0..bytes.len() {
            let _ = tflite::read(&bytes[..len]);
        }
        let mut rng = Rng::new(3);
        for _ in 0..3000 {
            let mut damaged = bytes.clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(damaged.len());
                damaged[at] ^= 1 << rng.below(8);
            }
            if let Ok(tflite::TfliteModel::Int8(imported)) = tflite::read(&damaged) {
                // Whatever was read runs without a panic.
                let model = imported.model();
                let mut predictor = host_trainer::quantize::QPredictor::new(&model);
                let inputs = model.layers.first().map_or(0, |l| usize::from(l.spec.inputs));
                let _ = predictor.predict(&model, &vec![1.0; inputs]);
            }
        }
    }
}

#[test]
fn int16_activations_are_refused() {
    let message = tflite::read(&fixture("sine_16x8.tflite")).unwrap_err().0;
    assert!(
        message.contains("is int16 (16x8 quantization): import reads int8 activations"),
        "{message}"
    );
}

//! TensorFlow Lite files from the TFLite converter (`scripts/onnx-fixtures.py`: Keras 3.15's
//! iris model, TensorFlow 2.21): the f32 file imports to a network that computes what the
//! TFLite interpreter computed; the int8 file is refused, saying why; damaged files are
//! refused without a panic.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod imports;

use host_trainer::{Rng, tflite};
use nn_core::LayerView;

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

#[test]
fn an_int8_tflite_model_is_refused_with_what_to_do() {
    let message = tflite::import(&fixture("iris_int8.tflite")).unwrap_err().0;
    assert!(message.starts_with("a quantized (int8) model"), "{message}");
    assert!(message.contains("host-trainer quantize"), "{message}");
}

#[test]
fn damaged_files_are_refused_without_a_panic() {
    let bytes = fixture("iris_f32.tflite");
    for len in 0..bytes.len() {
        let _ = tflite::import(&bytes[..len]);
    }
    let mut rng = Rng::new(3);
    for _ in 0..5000 {
        let mut damaged = bytes.clone();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(damaged.len());
            damaged[at] ^= 1 << rng.below(8);
        }
        let _ = tflite::import(&damaged);
    }
}

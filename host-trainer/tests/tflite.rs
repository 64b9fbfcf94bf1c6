//! TensorFlow Lite files from the TFLite converter (`scripts/onnx-fixtures.py`: Keras 3.15's
//! iris model, TensorFlow 2.21): the f32 file imports to a network that computes what the
//! TFLite interpreter computed; the int8 file is refused, saying why; damaged files are
//! refused without a panic.

#![allow(clippy::unwrap_used)] // tests may unwrap

use host_trainer::{Predictor, Rng, tflite};
use nn_core::LayerView;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/tflite/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn an_f32_tflite_model_computes_what_the_interpreter_computes() {
    let imported = tflite::import(&fixture("iris_f32.tflite")).unwrap();
    assert_eq!(
        imported.net.layer_list().unwrap().to_string(),
        "4-16 relu-3 softmax"
    );
    let scaling = imported
        .scaling
        .as_ref()
        .expect("SUB and MUL before the first layer");
    let json: serde_json::Value = serde_json::from_slice(&fixture("iris_f32.json")).unwrap();
    let rows = |key: &str| -> Vec<Vec<f32>> {
        json[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
                    .collect()
            })
            .collect()
    };
    let (inputs, outputs) = (rows("inputs"), rows("outputs"));
    assert!(inputs.len() >= 6);
    for (x, want) in inputs.iter().zip(&outputs) {
        let mut x = x.clone();
        scaling.apply_row(&mut x);
        let got = Predictor::new(&imported.net).predict(&imported.net, &x).to_vec();
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-5 + 1e-4 * w.abs(), "nn-core {g}, TFLite {w}");
        }
    }
    // The same network as the Keras model it was converted from.
    let keras = std::fs::read(format!(
        "{}/tests/fixtures/keras/iris.keras",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let keras = host_trainer::keras::import_keras(&keras).unwrap();
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

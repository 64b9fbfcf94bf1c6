//! Feeds arbitrary bytes to every importer (ONNX, Keras `.keras` and `.h5`, TensorFlow Lite):
//! nothing may panic, and a model any of them reads must become a weight file (or an error
//! saying why not, e.g. a normalization no file may hold).
#![no_main]

use std::path::Path;

use host_trainer::export::{Golden, encode_model};
use host_trainer::{keras, onnx, tflite};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let results = [
        onnx::import(data),
        keras::import_keras(data),
        keras::import_h5(data),
        tflite::import(data),
    ];
    // An int8 .tflite must become an int8 file too, and run.
    if let Ok(tflite::TfliteModel::Int8(imported)) = tflite::read(data) {
        let model = imported.model();
        let mut predictor = host_trainer::quantize::QPredictor::new(&model);
        let inputs = model.layers.first().map_or(0, |l| usize::from(l.spec.inputs));
        let _ = predictor.predict(&model, &vec![0.5; inputs]);
        let _ = host_trainer::export::encode_int8_file(&model, "fuzz", None, &Golden::default(), None, Path::new("fuzz.nnw"));
    }
    for imported in results.into_iter().flatten() {
        let _ = encode_model(
            &imported.net,
            "fuzz",
            imported.scaling.as_ref(),
            &Golden::default(),
            None,
            Path::new("fuzz.nnw"),
        );
    }
});

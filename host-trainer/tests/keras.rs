//! Keras models as Keras saves them (`scripts/onnx-fixtures.py` wrote them with Keras 3.15 and
//! tf_keras 2.21, with Keras' own predictions): `.keras`, Keras 3's legacy `.h5` and Keras 2's
//! `.h5` import to networks that compute what Keras computes; what is not a chain of dense
//! layers is refused by name; damaged files are refused without a panic.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod imports;

use host_trainer::Rng;
use host_trainer::keras;
use nn_core::LayerView;

fn fixture(name: &str) -> Vec<u8> {
    imports::fixture(&format!("keras/{name}"))
}

#[test]
fn keras_models_compute_what_keras_computes() {
    let cases = [
        (
            "iris.keras",
            keras::import_keras as fn(&[u8]) -> _,
            "iris.json",
            "4-16 relu-3 softmax",
            true,
        ),
        (
            "iris.h5",
            keras::import_h5,
            "iris.json",
            "4-16 relu-3 softmax",
            true,
        ),
        (
            "func.keras",
            keras::import_keras,
            "func.json",
            "4-8 tanh-8 leaky_relu-1 sigmoid",
            true,
        ),
        (
            "keras2.h5",
            keras::import_h5,
            "keras2.json",
            "4-6 relu-3 softmax",
            false,
        ),
    ];
    for (file, import, outputs, layers, normalized) in cases {
        let imported = import(&fixture(file)).unwrap();
        assert_eq!(imported.net.layer_list().unwrap().to_string(), layers, "{file}");
        assert_eq!(imported.scaling.is_some(), normalized, "{file}");
        assert!(imported.producer.starts_with("keras "), "{}", imported.producer);
        imports::assert_matches(&imported, &format!("keras/{outputs}"), "outputs");
    }
    // The .keras and .h5 saves of one model give the same network.
    let (a, b) = (
        keras::import_keras(&fixture("iris.keras")).unwrap(),
        keras::import_h5(&fixture("iris.h5")).unwrap(),
    );
    assert_eq!(a.net.params(), b.net.params());
    assert_eq!(a.scaling, b.scaling);
    // Rescaling(0.1, offset=-0.3): x·0.1 - 0.3 = (x - 3)·0.1.
    let func = keras::import_keras(&fixture("func.keras")).unwrap();
    let s = func.scaling.unwrap();
    assert!(
        s.scale.iter().all(|&v| v == 0.1) && s.offset.iter().all(|&v| (v - 3.0).abs() < 1e-6),
        "{s:?}"
    );
}

#[test]
fn what_is_not_a_chain_of_dense_layers_is_refused_by_name() {
    let conv = keras::import_keras(&fixture("conv.keras")).unwrap_err().0;
    assert!(
        conv.starts_with("layer Conv1D 'conv1d': Conv1D is not supported"),
        "{conv}"
    );
    let branch = keras::import_keras(&fixture("branch.keras")).unwrap_err().0;
    assert!(branch.contains("takes 'input_layer"), "{branch}");
    assert!(
        branch.contains("one chain of layers (no branches, skips or shared layers)"),
        "{branch}"
    );
    assert!(
        keras::import_keras(b"PK\x03\x04 not a zip")
            .unwrap_err()
            .0
            .starts_with("not a readable .keras archive")
    );
    assert!(
        keras::import_h5(b"\x89HDF\r\n\x1a\n not hdf5")
            .unwrap_err()
            .0
            .starts_with("not a readable HDF5 file")
    );
}

#[test]
fn damaged_files_are_refused_without_a_panic() {
    let mut rng = Rng::new(8);
    for (name, import) in [
        ("iris.keras", keras::import_keras as fn(&[u8]) -> _),
        ("iris.h5", keras::import_h5),
    ] {
        let bytes = fixture(name);
        for len in (0..bytes.len()).step_by(97) {
            let _ = import(&bytes[..len]);
        }
        for _ in 0..1500 {
            let mut damaged = bytes.clone();
            let at = rng.below(damaged.len());
            damaged[at] ^= 1 << rng.below(8);
            let _ = import(&damaged);
        }
    }
}

//! What the import tests share: a fixture's bytes, the reference outputs stored beside it,
//! and an imported network run on raw rows.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses part of it; tests may unwrap

use host_trainer::Predictor;
use host_trainer::imported::Imported;

/// `host-trainer/tests/fixtures/<path>`.
pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The rows of a fixture's JSON: its `inputs` and the reference's `key` (`outputs`, or
/// `onnxruntime`), paired.
pub fn reference(path: &str, key: &str) -> Vec<(Vec<f32>, Vec<f32>)> {
    let json: serde_json::Value = serde_json::from_slice(&fixture(path)).unwrap();
    let rows = |v: &serde_json::Value| -> Vec<Vec<f32>> {
        v.as_array()
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
    rows(&json["inputs"]).into_iter().zip(rows(&json[key])).collect()
}

/// nn-core's outputs for a raw row, after the import's normalization.
pub fn run(imported: &Imported, raw: &[f32]) -> Vec<f32> {
    let mut x = raw.to_vec();
    if let Some(s) = &imported.scaling {
        s.apply_row(&mut x);
    }
    Predictor::new(&imported.net).predict(&imported.net, &x).to_vec()
}

/// Every output within 1e-5 + 1e-4 of the reference's.
pub fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 1e-5 + 1e-4 * w.abs(),
            "{what}: nn-core {g}, reference {w}"
        );
    }
}

/// `imported` computes the reference's outputs on the fixture's rows (at least 6).
pub fn assert_matches(imported: &Imported, path: &str, key: &str) {
    let rows = reference(path, key);
    assert!(rows.len() >= 6, "{path}");
    for (x, want) in rows {
        assert_close(&run(imported, &x), &want, &format!("{path} {key}"));
    }
}

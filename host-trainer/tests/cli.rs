//! The `host-trainer` command line: outputs, determinism, and clear failures that leave
//! existing files alone.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn host_trainer(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_host-trainer"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A fresh directory with a small sine data set.
fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("host-trainer-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = host_trainer(
        &[
            "dataset",
            "sine",
            "--samples",
            "300",
            "--noise",
            "0.1",
            "--seed",
            "1",
            "--out",
            "sine.csv",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    dir
}

const TRAIN: &[&str] = &[
    "train",
    "--data",
    "sine.csv",
    "--target",
    "y",
    "--layers",
    "8:relu,1:linear",
    "--epochs",
    "20",
    "--val-split",
    "0.2",
    "--quiet",
];

fn train(dir: &Path, extra: &[&str]) -> Output {
    let args: Vec<&str> = TRAIN.iter().chain(extra).copied().collect();
    host_trainer(&args, dir)
}

#[test]
fn train_writes_the_model_and_its_companions() {
    let dir = workdir("outputs");
    let out = train(&dir, &["--seed", "3", "--out", "m.nnw", "--golden", "5"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).is_empty() && stderr(&out).is_empty(),
        "--quiet printed something"
    );
    let golden = std::fs::read_to_string(dir.join("m.golden.csv")).unwrap();
    assert_eq!(golden.lines().count(), 6);
    assert!(golden.starts_with("x,output_0\n"));
    let svg = std::fs::read_to_string(dir.join("m.loss.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<polyline") && svg.trim_end().ends_with("</svg>"));
    let rust = std::fs::read_to_string(dir.join("m.rs")).unwrap();
    assert!(rust.contains("pub type M = nn_core::network![nn_core::Dense<1, 8, nn_core::Relu>, nn_core::Dense<8, 1, nn_core::Identity>];"));

    let inspect = host_trainer(&["inspect", "m.nnw"], &dir);
    let text = stdout(&inspect);
    assert!(text.contains("layers          1-8 relu-1 linear"), "{text}");
    assert!(text.contains("parameters      25 (100 bytes)"), "{text}");
    assert!(text.contains("test vectors    5"), "{text}");
    assert!(text.contains("(ok)"), "{text}");
    // Whether it fits a board: the flash region and the firmware's run-time path.
    let fit = stdout(&host_trainer(&["inspect", "m.nnw", "--board", "microbit"], &dir));
    assert!(
        fit.contains("of the model region's 65536 bytes: fits yes"),
        "{fit}"
    );
    assert!(fit.contains("widest layer 8 of 128 units: fits yes"), "{fit}");
    assert!(
        fit.contains("scratch 64 bytes for this file; the firmware reserves 1024"),
        "{fit}"
    );
    assert!(fit.contains("runs          yes"), "{fit}");
    let bad = host_trainer(&["inspect", "m.nnw", "--board", "uno"], &dir);
    assert!(
        !bad.status.success() && stderr(&bad).contains("mps2-an386"),
        "{}",
        stderr(&bad)
    );
    let rust_out = host_trainer(&["inspect", "m.nnw", "--rust"], &dir);
    assert!(stdout(&rust_out).contains("nn_core::Dense<8, 1, nn_core::Identity>"));

    let eval = host_trainer(
        &[
            "eval", "--model", "m.nnw", "--data", "sine.csv", "--target", "y", "--json",
        ],
        &dir,
    );
    assert!(eval.status.success(), "{}", stderr(&eval));
    let json: serde_json::Value = serde_json::from_str(stdout(&eval).trim()).unwrap();
    assert_eq!(json["samples"], 300);
    assert!(json["loss"].as_f64().unwrap() > 0.0 && json["mse"].as_f64().unwrap() > 0.0);
    assert!(json["mae"].as_f64().is_some() && json.get("accuracy").is_none());

    let predict = host_trainer(
        &[
            "predict", "--model", "m.nnw", "--data", "sine.csv", "--target", "y", "--out", "p.csv",
        ],
        &dir,
    );
    assert!(predict.status.success(), "{}", stderr(&predict));
    let predictions = std::fs::read_to_string(dir.join("p.csv")).unwrap();
    assert_eq!(predictions.lines().count(), 301);
    // The golden vectors' outputs are what `predict` gives for the same inputs.
    let first_golden: Vec<&str> = golden.lines().nth(1).unwrap().split(',').collect();
    let csv = std::fs::read_to_string(dir.join("sine.csv")).unwrap();
    let row = csv
        .lines()
        .skip(1)
        .position(|l| l.split(',').next() == Some(first_golden[0]))
        .unwrap();
    assert_eq!(predictions.lines().nth(row + 1).unwrap(), first_golden[1]);
}

#[test]
fn the_same_seed_writes_the_same_bytes_with_one_thread_or_two() {
    let dir = workdir("seed");
    let runs = [("5", "a.nnw", "2"), ("5", "b.nnw", "1"), ("6", "c.nnw", "2")];
    for (seed, out, threads) in runs {
        let run = train(
            &dir,
            &[
                "--seed",
                seed,
                "--out",
                out,
                "--name",
                "m",
                "--batch",
                "64",
                "--threads",
                threads,
            ],
        );
        assert!(run.status.success(), "{}", stderr(&run));
    }
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    assert_eq!(read("a.nnw"), read("b.nnw"));
    assert_ne!(read("a.nnw"), read("c.nnw"));
}

/// Runs `args` in `dir` where `m.nnw` already holds a sentinel; asserts failure, a message
/// containing `expected`, the sentinel intact and no stray files.
fn assert_fails_cleanly(dir: &Path, args: &[&str], expected: &str) {
    std::fs::write(dir.join("m.nnw"), b"sentinel").unwrap();
    let before: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let out = host_trainer(args, dir);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(message.contains(expected), "expected {expected:?} in {message:?}");
    assert_eq!(
        std::fs::read(dir.join("m.nnw")).unwrap(),
        b"sentinel",
        "the existing output was touched"
    );
    let after: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before.len(), after.len(), "files appeared: {after:?}");
}

#[test]
fn bad_data_is_refused_with_its_place() {
    let dir = workdir("bad-data");
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    write("missing.csv", "x,y\n1,2\n3\n5,6\n");
    write("extra.csv", "x,y\n1,2\n3,4,5\n");
    write("word.csv", "x,y\n1,2\n3,four\n");
    write("nan.csv", "x,y\n1,2\nNaN,4\n");
    write("inf.csv", "x,y\n1,2\n3,inf\n");
    write("empty.csv", "");
    write("header-only.csv", "x,y\n");
    write("labels.csv", "a,b,label\n1,2,0\n3,4,2\n5,6,3\n");
    write("fraction.csv", "a,b,label\n1,2,0\n3,4,1.5\n");
    let train_on = |file: &'static str, target: &'static str, layers: &'static str| {
        vec![
            "train", "--data", file, "--target", target, "--layers", layers, "--epochs", "2", "--out",
            "m.nnw",
        ]
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            train_on("missing.csv", "y", "1:linear"),
            "missing.csv: line 3: missing fields: 1 fields, the header has 2",
        ),
        (
            train_on("extra.csv", "y", "1:linear"),
            "extra.csv: line 3: extra fields: 3 fields, the header has 2",
        ),
        (
            train_on("word.csv", "y", "1:linear"),
            "word.csv: line 3, column 2 (y): 'four' is not a number",
        ),
        (
            train_on("nan.csv", "y", "1:linear"),
            "nan.csv: line 3, column 1 (x): 'NaN' is not a finite number",
        ),
        (
            train_on("inf.csv", "y", "1:linear"),
            "inf.csv: line 3, column 2 (y): 'inf' is not a finite number",
        ),
        (train_on("empty.csv", "y", "1:linear"), "empty.csv: empty file"),
        (
            train_on("header-only.csv", "y", "1:linear"),
            "header-only.csv: no data rows",
        ),
        (
            train_on("sine.csv", "z", "1:linear"),
            "sine.csv: no column named 'z' (columns: x, y)",
        ),
        (
            train_on("labels.csv", "label", "4:relu,3:softmax"),
            "labels.csv: line 4, column 3 (label): label 3 is not one of the output layer's 3 classes (0 to 2)",
        ),
        (
            train_on("fraction.csv", "label", "2:softmax"),
            "line 3, column 3 (label): label 1.5 is not one of",
        ),
        (
            train_on("labels.csv", "label", "4:relu,1:softmax"),
            "the output layer has 1 outputs, which does not fit loss cross-entropy",
        ),
        (
            train_on("sine.csv", "y", "4:relu,2:linear"),
            "regression of one target column needs 1 output",
        ),
        (
            train_on("sine.csv", "y", "4:bogus,1:linear"),
            "unknown activation 'bogus'",
        ),
        (
            train_on("nofile.csv", "y", "1:linear"),
            "nofile.csv: No such file",
        ),
        (
            vec![
                "train",
                "--data",
                "sine.csv",
                "--target",
                "y",
                "--layers",
                "16:relu,1:linear",
                "--optimizer",
                "sgd",
                "--lr",
                "1e30",
                "--epochs",
                "5",
                "--out",
                "m.nnw",
            ],
            "training diverged",
        ),
    ];
    for (args, expected) in cases {
        assert_fails_cleanly(&dir, &args, expected);
    }
}

#[test]
fn corrupt_and_misfit_models_are_refused() {
    let dir = workdir("bad-model");
    let run = train(&dir, &["--out", "good.nnw"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let mut bytes = std::fs::read(dir.join("good.nnw")).unwrap();
    bytes[40] ^= 0x01;
    std::fs::write(dir.join("corrupt.nnw"), &bytes).unwrap();
    let out = host_trainer(&["inspect", "corrupt.nnw"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("corrupt.nnw: CRC mismatch: file is corrupt"),
        "{}",
        stderr(&out)
    );
    // A file whose stored output differs from nn-core's in its last bit (as another writer's
    // framework outputs would): every check passes but the board's PARITY; inspect says so.
    let out = host_trainer(&["inspect", "good.nnw"], &dir);
    assert!(
        stdout(&out).contains("(nn-core's forward, as the board runs it: 0 mismatches)"),
        "{}",
        stdout(&out)
    );
    let mut bytes = std::fs::read(dir.join("good.nnw")).unwrap();
    let n = bytes.len();
    let last = f32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap());
    bytes[n - 8..n - 4].copy_from_slice(&f32::from_bits(last.to_bits() ^ 1).to_le_bytes());
    let crc = nn_core::format::crc32(&bytes[..n - 4]);
    bytes[n - 4..].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(dir.join("other-writer.nnw"), &bytes).unwrap();
    let out = host_trainer(&["inspect", "other-writer.nnw"], &dir);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("1 mismatches"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("other-writer.nnw: 1 of 8 test vectors differ from nn-core's forward"),
        "{}",
        stderr(&out)
    );
    std::fs::write(dir.join("two.csv"), "a,b,y\n1,2,3\n").unwrap();
    let out = host_trainer(
        &[
            "eval", "--model", "good.nnw", "--data", "two.csv", "--target", "y",
        ],
        &dir,
    );
    assert!(
        stderr(&out).contains("two.csv: no column 'x' (the model's input columns: x; the file's: a, b, y)"),
        "{}",
        stderr(&out)
    );
    let out = host_trainer(&["predict", "--model", "sine.csv", "--data", "sine.csv"], &dir);
    assert!(
        stderr(&out).contains("sine.csv: not a weight file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn progress_is_plain_lines_off_a_terminal() {
    let dir = workdir("progress");
    let args: Vec<&str> = TRAIN
        .iter()
        .filter(|a| **a != "--quiet")
        .chain(&["--out", "m.nnw"])
        .copied()
        .collect();
    let out = host_trainer(&args, &dir);
    let text = stderr(&out);
    assert!(text.contains("epoch     1/20  loss"), "{text}");
    assert!(
        text.contains("epoch    20/20  loss") && text.contains("val_loss"),
        "{text}"
    );
    assert!(
        stdout(&out).contains("validation samples    60"),
        "{}",
        stdout(&out)
    );
}

/// `scripts/examples.sh` (the README's examples from the command line) reaches the accuracy
/// the issue asks of each example.
#[test]
fn the_readme_examples_work_from_the_command_line() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let work = std::env::temp_dir().join(format!("host-trainer-examples-{}", std::process::id()));
    let out = Command::new(root.join("scripts/examples.sh"))
        .arg(&work)
        .env("HOST_TRAINER", env!("CARGO_BIN_EXE_host-trainer"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let results: std::collections::HashMap<String, serde_json::Value> = stdout(&out)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(name, json)| (name.to_owned(), serde_json::from_str(json).unwrap()))
        .collect();
    let metric = |name: &str, key: &str| results[name][key].as_f64().unwrap();
    let rows: Vec<(f32, f32)> = std::fs::read_to_string(work.join("square.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            l.split_once(',')
                .map(|(x, y)| (x.parse().unwrap(), y.parse().unwrap()))
                .unwrap()
        })
        .collect();
    let floor = host_trainer::synth::best_line_mse(&rows);
    assert!(
        metric("tutorial-1-1-1", "mse") <= floor * 1.05,
        "{results:?}, floor {floor}"
    );
    assert!(
        metric("tutorial-1-16-1", "mse") < floor * 0.2,
        "{results:?}, floor {floor}"
    );
    assert!(metric("sine", "mse") <= 0.0015, "{results:?}");
    assert!(metric("digits", "accuracy") >= 0.97, "{results:?}");
}

#[test]
fn explain_ranks_features_and_draws_them() {
    let dir = workdir("explain");
    let iris = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/iris.csv");
    let iris = iris.to_str().unwrap();
    let run = host_trainer(
        &[
            "train",
            "--data",
            iris,
            "--target",
            "label",
            "--layers",
            "8:relu,3:softmax",
            "--epochs",
            "100",
            "--out",
            "iris.nnw",
            "--quiet",
        ],
        &dir,
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let out = host_trainer(
        &[
            "explain", "--model", "iris.nnw", "--data", iris, "--target", "label", "--json",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let features = json["features"].as_array().unwrap();
    assert_eq!(features.len(), 4);
    assert_eq!(json["metric"], "accuracy");
    // Petal measurements separate the iris species; sepal width hardly does.
    let top = features[0]["feature"].as_str().unwrap();
    assert!(top.starts_with("petal"), "{json}");
    let svg = std::fs::read_to_string(dir.join("iris.importance.svg")).unwrap();
    assert!(svg.contains("petal_length_cm") && svg.contains("<rect"));
    assert!(
        !dir.join("iris.heatmap.svg").exists(),
        "a heat map is drawn for square images of 16 or more inputs"
    );
}

/// `quantize`: an int8 file whose stored vectors are nn-core's int8 forward, a report of
/// f32 against int8 on the calibration and test sets, and clear refusals that write nothing.
#[test]
fn quantize_writes_an_int8_file_and_reports_f32_against_int8() {
    let dir = workdir("quantize");
    let train = |layers: &str, out: &str| {
        let run = host_trainer(
            &[
                "train", "--data", "sine.csv", "--target", "y", "--layers", layers, "--epochs", "20",
                "--seed", "1", "--out", out, "--quiet",
            ],
            &dir,
        );
        assert!(run.status.success(), "{}", stderr(&run));
    };
    train("16:relu,16:relu,1:linear", "sine.nnw");
    let run = host_trainer(
        &[
            "quantize",
            "--model",
            "sine.nnw",
            "--calib",
            "sine.csv",
            "--target",
            "y",
            "--test",
            "sine.csv",
            "--out",
            "sine-int8.nnw",
            "--vectors",
            "5",
        ],
        &dir,
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let report = stdout(&run);
    for expected in [
        "f32 MSE",
        "int8 MSE",
        "max |diff|",
        "calibration",
        "test",
        "(int8, ",
        "5 test vectors",
    ] {
        assert!(report.contains(expected), "{expected:?} in:\n{report}");
    }
    let bytes = std::fs::read(dir.join("sine-int8.nnw")).unwrap();
    // Borrowing the int8 slices needs 4-byte alignment: copy into words.
    let mut words = vec![0u32; bytes.len().div_ceil(4)];
    bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(&bytes);
    let file =
        nn_core::WeightFile::parse_exact(&bytemuck::cast_slice::<u32, u8>(&words)[..bytes.len()]).unwrap();
    assert_eq!(file.kind(), nn_core::ModelKind::Int8);
    assert_eq!(file.test_vector_count(), 5);
    let model = file.int8_model().unwrap();
    let norm = file.normalization().unwrap();
    for v in 0..5 {
        let (input, expected) = file.test_vector(v).unwrap();
        let mut x: Vec<f32> = input.iter().collect();
        norm.apply(&mut x);
        let (mut a, mut b, mut y) = ([0i8; 16], [0i8; 16], [0.0f32; 1]);
        model.predict(&x, &mut a, &mut b, &mut y).unwrap();
        assert_eq!(y[0].to_bits(), expected.get(0).unwrap().to_bits(), "vector {v}");
    }
    let inspect = stdout(&host_trainer(&["inspect", "sine-int8.nnw"], &dir));
    assert!(
        inspect.contains("format version  3") && inspect.contains("kind            int8"),
        "{inspect}"
    );

    let json = stdout(&host_trainer(
        &[
            "quantize",
            "--model",
            "sine.nnw",
            "--calib",
            "sine.csv",
            "--target",
            "y",
            "--out",
            "again.nnw",
            "--vectors",
            "5",
            "--json",
        ],
        &dir,
    ));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let (f, q) = (&json["calibration"]["mse_f32"], &json["calibration"]["mse_int8"]);
    assert!((f.as_f64().unwrap() - q.as_f64().unwrap()).abs() < 0.01, "{json}");
    assert_eq!(
        json["int8_file_bytes"].as_u64().unwrap() as usize,
        std::fs::read(dir.join("again.nnw")).unwrap().len()
    );
    assert!(
        std::fs::read(dir.join("again.nnw")).unwrap() == bytes,
        "same input, same bytes"
    );

    // eval and predict take the int8 file too (nn-core's int8 forward): the quantize report's
    // figure on the same data, and the stored test vectors' outputs.
    let eval = stdout(&host_trainer(
        &[
            "eval",
            "--model",
            "again.nnw",
            "--data",
            "sine.csv",
            "--target",
            "y",
            "--json",
        ],
        &dir,
    ));
    let eval: serde_json::Value = serde_json::from_str(&eval).unwrap();
    let (e, q) = (eval["mse"].as_f64().unwrap(), q.as_f64().unwrap());
    assert!((e - q).abs() <= 1e-5 * q, "eval {e} vs quantize report {q}");
    let mut rows = String::from("x\n");
    for v in 0..5 {
        let (input, _) = file.test_vector(v).unwrap();
        rows.push_str(&format!("{:?}\n", input.get(0).unwrap()));
    }
    std::fs::write(dir.join("five.csv"), rows).unwrap();
    let predicted = stdout(&host_trainer(
        &["predict", "--model", "sine-int8.nnw", "--data", "five.csv"],
        &dir,
    ));
    let predicted: Vec<f32> = predicted.lines().skip(1).map(|l| l.parse().unwrap()).collect();
    let stored: Vec<f32> = (0..5)
        .map(|v| file.test_vector(v).unwrap().1.get(0).unwrap())
        .collect();
    assert_eq!(predicted, stored);
    let explain = host_trainer(
        &[
            "explain",
            "--model",
            "sine-int8.nnw",
            "--data",
            "sine.csv",
            "--target",
            "y",
        ],
        &dir,
    );
    assert_eq!(explain.status.code(), Some(1));
    assert!(
        stderr(&explain).contains("holds an int8 model"),
        "{}",
        stderr(&explain)
    );

    // Refusals: exit 1, a message naming the problem, the output untouched.
    std::fs::write(dir.join("keep.nnw"), b"old").unwrap();
    train("8:softmax,1:linear", "softmax.nnw");
    std::fs::write(dir.join("bad.csv"), "x,y\n0.5,0.1\nnan,0.2\n").unwrap();
    let cases: [(&[&str], &str); 3] = [
        (
            &["--model", "sine-int8.nnw", "--calib", "sine.csv"],
            "holds an int8 model",
        ),
        (
            &["--model", "softmax.nnw", "--calib", "sine.csv"],
            "layer 0 is a hidden softmax layer; int8 hidden layers are linear, relu, tanh or sigmoid",
        ),
        (&["--model", "sine.nnw", "--calib", "bad.csv"], "bad.csv"),
    ];
    for (args, message) in cases {
        let mut all = vec!["quantize"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--target", "y", "--out", "keep.nnw"]);
        let run = host_trainer(&all, &dir);
        assert_eq!(run.status.code(), Some(1), "{args:?}");
        assert!(stderr(&run).contains(message), "{message:?} in {}", stderr(&run));
        assert_eq!(std::fs::read(dir.join("keep.nnw")).unwrap(), b"old");
    }
}

/// A reader that stops early (`| head -1`) ends the run quietly, without a panic.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = workdir("pipe");
    let mut rows = String::from("x\n");
    for i in 0..20_000 {
        rows.push_str(&format!("{}\n", f64::from(i) * 1e-4));
    }
    std::fs::write(dir.join("many.csv"), rows).unwrap();
    let train = host_trainer(
        &[
            "train",
            "--data",
            "sine.csv",
            "--target",
            "y",
            "--layers",
            "4:relu,1:linear",
            "--epochs",
            "1",
            "--out",
            "m.nnw",
            "--quiet",
        ],
        &dir,
    );
    assert!(train.status.success(), "{}", stderr(&train));
    let mut reader = Command::new(env!("CARGO_BIN_EXE_host-trainer"))
        .args(["predict", "--model", "m.nnw", "--data", "many.csv"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 8];
    std::io::Read::read_exact(reader.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(reader.stdout.take()); // the reader goes away
    let out = reader.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

// A user's files are never destroyed: inputs are never outputs, devices and links stay what
// they are, new files get a new file's permissions, runs do not mix and leave nothing behind.

/// The bytes of every file in `dir`, by name.
fn snapshot(dir: &Path) -> Vec<(std::ffi::OsString, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.file_name(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
#[cfg(unix)] // links, devices and modes as Unix has them
fn an_input_is_never_an_output() {
    let dir = workdir("inputs");
    let model = train(&dir, &["--out", "m.nnw"]);
    assert!(model.status.success(), "{}", stderr(&model));
    std::os::unix::fs::symlink("sine.csv", dir.join("link.csv")).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--out", "sine.csv"],
            "the output sine.csv is the input sine.csv",
        ),
        (
            &["--out", "./sine.csv"],
            "the output ./sine.csv is the input sine.csv",
        ),
    ];
    for (extra, expected) in cases {
        let before = snapshot(&dir);
        let out = train(&dir, extra);
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
        assert_eq!(snapshot(&dir), before, "{extra:?} changed a file");
    }
    let refusals: &[(&[&str], &str)] = &[
        (
            &[
                "quantize", "--model", "m.nnw", "--calib", "sine.csv", "--target", "y", "--out", "m.nnw",
            ],
            "the output m.nnw is the input m.nnw",
        ),
        (
            &[
                "predict", "--model", "m.nnw", "--data", "sine.csv", "--out", "sine.csv",
            ],
            "the output sine.csv is the input sine.csv",
        ),
        (
            &[
                "predict", "--model", "m.nnw", "--data", "sine.csv", "--out", "link.csv",
            ],
            "the output link.csv is the input sine.csv",
        ),
        (
            &[
                "split",
                "--data",
                "sine.csv",
                "--test",
                "0.3",
                "--train-out",
                "a.csv",
                "--test-out",
                "./a.csv",
            ],
            "the outputs a.csv and ./a.csv are the same file",
        ),
    ];
    for (args, expected) in refusals {
        let before = snapshot(&dir);
        let out = host_trainer(args, &dir);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(expected), "{args:?}: {}", stderr(&out));
        assert_eq!(snapshot(&dir), before, "{args:?} changed a file");
    }
}

#[test]
#[cfg(unix)] // links, devices and modes as Unix has them
fn devices_stay_devices_and_links_stay_links() {
    let dir = workdir("links");
    assert!(train(&dir, &["--out", "m.nnw"]).status.success());
    let predict = |out: &str| {
        host_trainer(
            &[
                "predict", "--model", "m.nnw", "--data", "sine.csv", "--target", "y", "--out", out,
            ],
            &dir,
        )
    };
    for device in ["/dev/null", "/dev/full"] {
        let out = predict(device);
        assert_eq!(out.status.code(), Some(1), "{device}");
        assert!(
            stderr(&out).contains("is a device, not a regular file"),
            "{}",
            stderr(&out)
        );
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata(device).unwrap().file_type().is_char_device());
    }
    // `-` is standard output.
    let out = predict("-");
    assert!(
        out.status.success() && stdout(&out).starts_with("output_0\n"),
        "{}",
        stderr(&out)
    );
    // A link as output: the file it points to is written, the link stays.
    std::os::unix::fs::symlink("predictions.csv", dir.join("latest.csv")).unwrap();
    assert!(predict("latest.csv").status.success());
    assert!(
        std::fs::symlink_metadata(dir.join("latest.csv"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(dir.join("predictions.csv"))
            .unwrap()
            .starts_with("output_0\n")
    );
}

#[test]
#[cfg(unix)] // links, devices and modes as Unix has them
fn outputs_get_a_new_file_s_permissions_and_keep_an_old_one_s() {
    use std::os::unix::fs::PermissionsExt;
    let dir = workdir("modes");
    let mode = |f: &str| std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
    let bin = env!("CARGO_BIN_EXE_host-trainer");
    let with_umask = |umask: &str, out: &str| {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask {umask}; exec \"$0\" dataset sine --samples 10 --out {out}"
            ))
            .arg(bin)
            .current_dir(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    };
    with_umask("022", "a.csv");
    assert_eq!(mode("a.csv"), 0o644);
    with_umask("027", "b.csv");
    assert_eq!(mode("b.csv"), 0o640);
    std::fs::set_permissions(dir.join("a.csv"), std::fs::Permissions::from_mode(0o600)).unwrap();
    with_umask("022", "a.csv");
    assert_eq!(mode("a.csv"), 0o600, "a replaced file keeps its mode");
}

#[test]
fn concurrent_runs_do_not_mix_and_leave_nothing_behind() {
    let dir = workdir("concurrent");
    let args = |seed: &'static str, out: &'static str| -> Vec<&'static str> {
        TRAIN
            .iter()
            .copied()
            .chain(["--seed", seed, "--golden", "7", "--out", out])
            .collect()
    };
    // What each run writes alone.
    let mut alone = Vec::new();
    for seed in ["1", "2"] {
        assert!(host_trainer(&args(seed, "m.nnw"), &dir).status.success());
        alone.push((
            std::fs::read(dir.join("m.nnw")).unwrap(),
            std::fs::read(dir.join("m.golden.csv")).unwrap(),
        ));
    }
    // A temporary file a killed run left behind.
    std::fs::write(dir.join(".m.nnw.host-trainer.tmp"), b"half a file").unwrap();
    for _ in 0..6 {
        let spawn = |seed| {
            Command::new(env!("CARGO_BIN_EXE_host-trainer"))
                .args(args(seed, "m.nnw"))
                .current_dir(&dir)
                .spawn()
                .unwrap()
        };
        let (mut a, mut b) = (spawn("1"), spawn("2"));
        assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
        let now = (
            std::fs::read(dir.join("m.nnw")).unwrap(),
            std::fs::read(dir.join("m.golden.csv")).unwrap(),
        );
        assert!(
            alone.contains(&now),
            "the model and its golden vectors come from different runs"
        );
    }
    let stray: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("host-trainer"))
        .collect();
    assert!(stray.is_empty(), "left behind: {stray:?}");
}

/// Options are checked before any work, negative numbers included, with our own messages;
/// nothing is written.
#[test]
fn options_are_checked_before_any_work() {
    let dir = workdir("options");
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        [
            "train",
            "--data",
            "sine.csv",
            "--target",
            "y",
            "--layers",
            "8:relu,1:linear",
            "--out",
            "m.nnw",
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .collect()
    };
    let refused: &[(&[&str], &str)] = &[
        (&["--lr=-1"], "--lr must be a number above 0, not -1"),
        (&["--lr", "-1"], "--lr must be a number above 0, not -1"),
        (&["--lr", "0"], "--lr must be a number above 0, not 0"),
        (&["--lr", "NaN"], "--lr must be a number above 0, not NaN"),
        (&["--threads", "3"], "--threads is 1 to"),
        (
            &["--patience", "5"],
            "--patience stops on the validation loss: it needs a validation split",
        ),
        (&["--augment-noise", "-1"], "--augment-noise must be 0 or more"),
        (&["--mixup", "0"], "--mixup must be above 0"),
        (
            &["--dropout", "1"],
            "--dropout must be at least 0 and below 1, not 1",
        ),
        (&["--l2=-0.1"], "--l2 must be 0 or more, not -0.1"),
        (
            &["--weight-decay", "-1"],
            "--weight-decay must be 0 or more, not -1",
        ),
        (&["--clip-norm", "0"], "--clip-norm must be above 0, not 0"),
        (&["--clip-value", "inf"], "--clip-value must be above 0, not inf"),
        (
            &["--lr-schedule", "cosine:100"],
            "cosine's warm-up (100 epochs) must be shorter than the run (100 epochs)",
        ),
        (
            &["--class-weight", "balanced"],
            "--class-weight weighs the classes of a classifier; this target is a regression",
        ),
    ];
    for (extra, expected) in refused {
        assert_fails_cleanly(&dir, &with(extra), expected);
    }
    for (layers, expected) in [
        (
            "8:relu,1:linear:dropout=0.5",
            "layer 2 is the output layer: dropout applies to hidden layers only",
        ),
        (
            "8:relu:dropout=1.5,1:linear",
            "'8:relu:dropout=1.5': expected dropout=RATE after the activation, RATE at least 0 and below 1",
        ),
    ] {
        let args = [
            "train", "--data", "sine.csv", "--target", "y", "--layers", layers, "--out", "m.nnw",
        ];
        assert_fails_cleanly(&dir, &args, expected);
    }
    // 2^34 parameters, 500 GiB: more memory than a machine has, refused before allocating.
    assert_fails_cleanly(
        &dir,
        &[
            "train",
            "--data",
            "sine.csv",
            "--target",
            "y",
            "--layers",
            "65535:relu,65535:relu,65535:relu,65535:relu,65535:relu,1:linear",
            "--out",
            "m.nnw",
        ],
        "GiB of memory (17179803646 parameters), and this machine has",
    );
    // Whole numbers: the parser's refusal, with our words for what is expected.
    for (extra, expected) in [
        (["--epochs", "0"], "expected a whole number of at least 1, not 0"),
        (
            ["--epochs", "-3"],
            "expected a whole number of at least 1, not -3",
        ),
        (["--threads", "0"], "expected a whole number of at least 1, not 0"),
        (["--golden", "-2"], "expected a whole number (0 or more), not -2"),
        (
            ["--lr-schedule", "warp:2"],
            "'warp:2': expected constant, step:EVERY:FACTOR, exponential:RATE, cosine[:WARMUP] or plateau:PATIENCE:FACTOR",
        ),
        (
            ["--lr-schedule", "step:0:0.5"],
            "EVERY '0' is not a whole number of epochs from 1",
        ),
        (
            ["--lr-schedule", "plateau:3:1"],
            "FACTOR '1' must be a number above 0 and below 1",
        ),
        (
            ["--class-weight", "0:x"],
            "'0:x': the weight 'x' must be a number of 0 or more",
        ),
        (["--clip-norm=1", "--clip-value=1"], "cannot be used with"),
    ] {
        let out = host_trainer(&with(&extra), &dir);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(stderr(&out).contains(expected), "{extra:?}: {}", stderr(&out));
    }
    // A cap is said, not silent.
    let out = host_trainer(
        &with(&["--golden", "500", "--val-split", "0.2", "--epochs", "2"]),
        &dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("note: 60 test vectors stored, not 500: the validation split has only 60 samples"),
        "{}",
        stderr(&out)
    );
}

/// `data/iris.csv` with its labels as names and its columns as `order` (indices into the
/// original header), written to `dir/name`.
fn iris_as(dir: &Path, name: &str, order: &[usize], extra: Option<&str>) {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/iris.csv")).unwrap();
    let species = ["setosa", "versicolor", "virginica"];
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let mut fields: Vec<String> = line.split(',').map(str::to_owned).collect();
        if i > 0 {
            fields[4] = species[fields[4].parse::<usize>().unwrap()].to_owned();
        }
        let mut row: Vec<String> = order.iter().map(|&c| fields[c].clone()).collect();
        if let Some(extra) = extra {
            row.push(if i == 0 { extra.to_owned() } else { i.to_string() });
        }
        out.push_str(&row.join(","));
        out.push('\n');
    }
    std::fs::write(dir.join(name), out).unwrap();
}

/// Columns are matched by name in any order, and class names travel with the file: the
/// same figures from a shuffled file, a missing column named, extra ones said; training
/// refuses columns it cannot tell apart; an older file keeps matching by position, saying so.
#[test]
fn columns_and_classes_are_matched_by_name() {
    let dir = workdir("names");
    iris_as(&dir, "iris.csv", &[0, 1, 2, 3, 4], None);
    iris_as(&dir, "shuffled.csv", &[4, 3, 1, 0, 2], Some("row"));
    iris_as(&dir, "short.csv", &[0, 1, 3, 4], None);
    let train = host_trainer(
        &[
            "train",
            "--data",
            "iris.csv",
            "--target",
            "label",
            "--layers",
            "8:relu,3:softmax",
            "--epochs",
            "60",
            "--seed",
            "1",
            "--out",
            "iris.nnw",
        ],
        &dir,
    );
    assert!(train.status.success(), "{}", stderr(&train));
    assert!(
        stderr(&train).contains("classes (labels in sorted order): 0 setosa, 1 versicolor, 2 virginica"),
        "{}",
        stderr(&train)
    );
    let inspect = stdout(&host_trainer(&["inspect", "iris.nnw"], &dir));
    assert!(
        inspect.contains("classes         setosa, versicolor, virginica"),
        "{inspect}"
    );
    assert!(
        inspect.contains(
            "columns         sepal_length_cm, sepal_width_cm, petal_length_cm, petal_width_cm (target label)"
        ),
        "{inspect}"
    );
    let eval = |data: &str| {
        host_trainer(
            &[
                "eval", "--model", "iris.nnw", "--data", data, "--target", "label", "--json",
            ],
            &dir,
        )
    };
    let (plain, shuffled) = (eval("iris.csv"), eval("shuffled.csv"));
    assert!(
        plain.status.success() && shuffled.status.success(),
        "{}",
        stderr(&shuffled)
    );
    assert_eq!(
        stdout(&plain),
        stdout(&shuffled),
        "another column order, other figures"
    );
    assert!(
        stdout(&plain).contains(r#""classes":["setosa","versicolor","virginica"]"#),
        "{}",
        stdout(&plain)
    );
    assert!(
        stderr(&shuffled).contains("shuffled.csv: ignoring row (not among the model's input columns)"),
        "{}",
        stderr(&shuffled)
    );
    let short = eval("short.csv");
    assert_eq!(short.status.code(), Some(1));
    assert!(
        stderr(&short).contains("short.csv: no column 'petal_length_cm'"),
        "{}",
        stderr(&short)
    );
    // The confusion matrix and predictions by name.
    let table = stdout(&host_trainer(
        &[
            "eval",
            "--model",
            "iris.nnw",
            "--data",
            "shuffled.csv",
            "--target",
            "label",
        ],
        &dir,
    ));
    assert!(
        table.contains("\nsetosa") && table.contains("virginica"),
        "{table}"
    );
    let predict = stdout(&host_trainer(
        &[
            "predict",
            "--model",
            "iris.nnw",
            "--data",
            "shuffled.csv",
            "--target",
            "label",
        ],
        &dir,
    ));
    assert!(
        predict.starts_with("output_0,output_1,output_2,class\n"),
        "{predict}"
    );
    assert!(predict.lines().nth(1).unwrap().ends_with(",setosa"), "{predict}");

    // Columns training cannot tell apart, unless left out.
    let index = "Unnamed: 0";
    iris_as(&dir, "pandas.csv", &[0, 1, 2, 3, 4], Some(index));
    let dup = std::fs::read_to_string(dir.join("iris.csv")).unwrap().replacen(
        "sepal_width_cm",
        "sepal_length_cm",
        1,
    );
    std::fs::write(dir.join("dup.csv"), dup).unwrap();
    let train_on = |data: &str, extra: &[&str]| {
        let args: Vec<&str> = [
            "train",
            "--data",
            data,
            "--target",
            "label",
            "--layers",
            "3:softmax",
            "--epochs",
            "2",
            "--out",
            "m.nnw",
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
        host_trainer(&args, &dir)
    };
    let out = train_on("pandas.csv", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("column 6 has no name ('Unnamed: 0')") && stderr(&out).contains("--ignore 6"),
        "{}",
        stderr(&out)
    );
    assert!(train_on("pandas.csv", &["--ignore", "6"]).status.success());
    assert!(train_on("pandas.csv", &["--ignore", index]).status.success());
    let out = train_on("dup.csv", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("columns 1 and 2 are both named 'sepal_length_cm'"),
        "{}",
        stderr(&out)
    );

    // A file without names (format version 1): by position, said.
    let data = host_trainer::Dataset::from_xy(&[(0.0, 0.0), (1.0, 1.0)]);
    let net = host_trainer::DynNetwork::from_spec(1, "1:linear").unwrap();
    let golden = host_trainer::export::Golden::from_samples(&net, None, &data, 1, 0);
    let old =
        host_trainer::export::encode_model(&net, "old", None, &golden, None, "old.nnw".as_ref()).unwrap();
    std::fs::write(dir.join("old.nnw"), old).unwrap();
    std::fs::write(dir.join("xy.csv"), "x,y\n0,0\n1,1\n").unwrap();
    let out = host_trainer(
        &["eval", "--model", "old.nnw", "--data", "xy.csv", "--target", "y"],
        &dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "old.nnw has no column names (format version 1 or 2): xy.csv columns are taken in order"
        ),
        "{}",
        stderr(&out)
    );
}

/// `cv` on iris: five stratified folds printed, then their mean ± std; `--json` holds the
/// same folds, its means are the folds' means, and one thread or two give the same bytes.
#[test]
fn cv_prints_each_fold_and_their_mean_and_spread() {
    let dir = workdir("cv");
    let iris = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/iris.csv");
    let args = |extra: &[&'static str]| -> Vec<&'static str> {
        [
            "cv",
            "--data",
            iris,
            "--target",
            "label",
            "--layers",
            "16:relu,3:softmax",
            "--epochs",
            "150",
            "--lr",
            "0.01",
            "--folds",
            "5",
            "--seed",
            "2",
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .collect()
    };
    let out = host_trainer(&args(&[]), &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for fold in 1..=5 {
        assert!(text.contains(&format!("fold {fold}/5   samples    30")), "{text}");
    }
    assert!(text.contains("mean ± std over 5 folds: loss"), "{text}");
    assert!(
        stderr(&out).contains("5-fold cross-validation (stratified) of 4-16 relu-3 softmax on 150 samples")
    );
    let json = host_trainer(&args(&["--json", "--threads", "1"]), &dir);
    assert!(json.status.success(), "{}", stderr(&json));
    assert_eq!(
        json.stdout,
        host_trainer(&args(&["--json", "--threads", "2"]), &dir).stdout,
        "1 and 2 threads differ"
    );
    let summary: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let accuracies: Vec<f64> = summary["folds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["accuracy"].as_f64().unwrap())
        .collect();
    assert_eq!(accuracies.len(), 5);
    let mean = accuracies.iter().sum::<f64>() / 5.0;
    let std = (accuracies.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 5.0).sqrt();
    assert!((summary["accuracy"]["mean"].as_f64().unwrap() - mean).abs() < 1e-6);
    assert!((summary["accuracy"]["std"].as_f64().unwrap() - std).abs() < 1e-6);
    assert!(mean > 0.9, "held-out accuracy on iris {mean}");
    // The printed folds are the JSON's folds.
    let first = format!("accuracy {:.4}", accuracies[0]);
    assert!(text.lines().next().unwrap().contains(&first), "{text}");
    for (folds, expected) in [
        ("1", "--folds must be from 2 to the number of rows (150), not 1"),
        ("151", "not 151"),
    ] {
        let mut bad = args(&[]);
        let at = bad.iter().position(|a| *a == "--folds").unwrap();
        bad[at + 1] = folds;
        let out = host_trainer(&bad, &dir);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    }
}

/// A learning-rate schedule is drawn on the loss plot (its own dashed line and the last
/// rate), and a constant rate is not.
#[test]
fn a_schedule_is_drawn_on_the_loss_plot() {
    let dir = workdir("schedule");
    let out = train(&dir, &["--out", "m.nnw", "--lr-schedule", "step:5:0.5"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = std::fs::read_to_string(dir.join("m.loss.svg")).unwrap();
    // 20 epochs: the last is in the fourth block of 5, at 0.001 · 0.5³.
    assert!(svg.contains("learning rate (1.250e-4)"), "{svg}");
    assert!(svg.contains(r#"stroke-dasharray="5,3" points="#));
    let out = train(&dir, &["--out", "m.nnw"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = std::fs::read_to_string(dir.join("m.loss.svg")).unwrap();
    assert!(!svg.contains("learning rate"));
}

/// `search` on iris for the micro:bit: the Pareto table and the chosen network printed, the
/// chosen network written with its test vectors at exactly the flash it was costed at, its
/// front drawn; the same bytes with one worker or two; a budget nothing meets refused with
/// what the smallest network costs, nothing written.
#[test]
fn search_writes_the_best_network_within_the_budget() {
    let dir = workdir("search");
    let iris = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/iris.csv");
    let args = |extra: &[&'static str]| -> Vec<&'static str> {
        [
            "search", "--data", iris, "--target", "label", "--board", "microbit", "--epochs", "40", "--lr",
            "0.02", "--trials", "6", "--seed", "3", "--name", "iris",
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .collect()
    };
    let out = host_trainer(
        &args(&["--max-insns", "40000", "--threads", "1", "--out", "one.nnw"]),
        &dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Pareto front on microbit"), "{text}");
    assert!(stderr(&out).contains("output layer 3:softmax (column label holds 3 classes"));
    assert!(text.contains("evaluated 6 of "), "{text}");
    let chosen = text.lines().find(|l| l.starts_with("chosen: ")).unwrap();
    let flash: usize = chosen
        .split(", ")
        .find_map(|part| part.strip_suffix(" bytes of flash"))
        .unwrap()
        .parse()
        .unwrap();
    let insns: u64 = chosen
        .split("predicted ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(insns <= 40000, "{chosen}");
    let bytes = std::fs::read(dir.join("one.nnw")).unwrap();
    assert_eq!(
        bytes.len(),
        flash,
        "the flash figure is the file's size: {chosen}"
    );
    let file = nn_core::WeightFile::parse_exact(&bytes).unwrap();
    assert_eq!(file.test_vector_count(), 8);
    let svg = std::fs::read_to_string(dir.join("one.pareto.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("budget") && svg.trim_end().ends_with("</svg>"));
    let two = host_trainer(
        &args(&["--max-insns", "40000", "--threads", "2", "--out", "two.nnw"]),
        &dir,
    );
    assert!(two.status.success(), "{}", stderr(&two));
    assert_eq!(
        bytes,
        std::fs::read(dir.join("two.nnw")).unwrap(),
        "1 and 2 workers differ"
    );

    let refused = host_trainer(&args(&["--max-insns", "100", "--out", "none.nnw"]), &dir);
    assert_eq!(refused.status.code(), Some(1));
    let message = stderr(&refused);
    assert!(
        message.contains("no network of the search space fits the budget on microbit"),
        "{message}"
    );
    assert!(
        message.contains("the output layer alone (4 inputs, 3:softmax), is predicted at"),
        "{message}"
    );
    assert!(!dir.join("none.nnw").exists() && !dir.join("none.pareto.svg").exists());
    for (bad, message) in [
        (["--time", "0"], "--time must be a number of seconds above 0"),
        (
            ["--max-depth", "8"],
            "--max-depth is 0 to 7 (a weight file holds at most 8 layers), not 8",
        ),
    ] {
        let refused = host_trainer(&args(&[bad[0], bad[1], "--out", "none.nnw"]), &dir);
        assert_eq!(refused.status.code(), Some(1), "{bad:?}");
        assert!(stderr(&refused).contains(message), "{}", stderr(&refused));
    }
    assert!(!dir.join("none.nnw").exists());
    // Wider than the micro:bit's run-time path: said before any training.
    let header: Vec<String> = (0..130).map(|i| format!("x{i}")).chain(["y".into()]).collect();
    let row = vec!["1"; 131].join(",");
    std::fs::write(
        dir.join("wide.csv"),
        format!("{}\n{row}\n{row}\n", header.join(",")),
    )
    .unwrap();
    let wide = host_trainer(
        &[
            "search", "--data", "wide.csv", "--target", "y", "--board", "microbit", "--out", "none.nnw",
        ],
        &dir,
    );
    assert_eq!(wide.status.code(), Some(1));
    assert!(
        stderr(&wide).contains("wide.csv: the network's inputs (130) and outputs (1) must each fit the firmware's run-time path on microbit, at most 128 units a layer"),
        "{}",
        stderr(&wide)
    );
}

/// `import` of a PyTorch ONNX model with `--data`: the file carries the data's column names
/// and vectors from its rows, and the metrics are printed; without `--data`, drawn vectors.
/// `export --onnx` of that file reads back to the same parameters; `export` refuses an int8
/// file; `import` refuses a damaged Keras or TensorFlow Lite file, saying which it took it for.
#[test]
fn import_and_export_onnx() {
    let dir = workdir("onnx");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/onnx/torch_iris.onnx");
    let iris = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/iris.csv");
    let out = host_trainer(
        &[
            "import",
            fixture,
            "--data",
            iris,
            "--target",
            "label",
            "--vectors",
            "6",
            "--out",
            "iris.nnw",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("(4-16 relu-3 softmax, "), "{text}");
    assert!(
        text.contains("6 test vectors, with the model's input normalization)"),
        "{text}"
    );
    let accuracy: f64 = text
        .split("accuracy ")
        .nth(1)
        .and_then(|a| a.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(accuracy > 0.9, "{text}");
    let bytes = std::fs::read(dir.join("iris.nnw")).unwrap();
    let file = nn_core::WeightFile::parse_exact(&bytes).unwrap();
    assert_eq!(file.test_vector_count(), 6);
    let names = file.names().unwrap();
    assert_eq!(names.inputs().next(), Some("sepal_length_cm"));
    let drawn = host_trainer(&["import", fixture, "--out", "drawn.nnw"], &dir);
    assert!(drawn.status.success(), "{}", stderr(&drawn));
    assert!(stdout(&drawn).contains("8 test vectors"));

    let export = host_trainer(&["export", "iris.nnw", "--onnx", "iris.onnx"], &dir);
    assert!(export.status.success(), "{}", stderr(&export));
    let again = host_trainer(
        &["import", "iris.onnx", "--vectors", "0", "--out", "again.nnw"],
        &dir,
    );
    assert!(again.status.success(), "{}", stderr(&again));
    let params = |path: &str| {
        let bytes = std::fs::read(dir.join(path)).unwrap();
        let file = nn_core::WeightFile::parse_exact(&bytes).unwrap();
        host_trainer::DynNetwork::from_file(&file)
            .unwrap()
            .params()
            .to_vec()
    };
    assert_eq!(params("iris.nnw"), params("again.nnw"));

    let quantized = host_trainer(
        &[
            "quantize", "--model", "iris.nnw", "--calib", iris, "--target", "label", "--out", "q.nnw",
        ],
        &dir,
    );
    assert!(quantized.status.success(), "{}", stderr(&quantized));
    let int8 = host_trainer(&["export", "q.nnw", "--onnx", "q.onnx"], &dir);
    assert_eq!(int8.status.code(), Some(1));
    assert!(stderr(&int8).contains("int8"), "{}", stderr(&int8));
    assert!(!dir.join("q.onnx").exists());
    std::fs::write(dir.join("model.keras"), b"PK\x03\x04 rest of a zip").unwrap();
    let keras = host_trainer(&["import", "model.keras", "--out", "k.nnw"], &dir);
    assert_eq!(keras.status.code(), Some(1));
    assert!(
        stderr(&keras).contains("model.keras: not a readable .keras archive"),
        "{}",
        stderr(&keras)
    );
    std::fs::write(dir.join("model.tflite"), b"\x1c\0\0\0TFL3 and the rest").unwrap();
    let tflite = host_trainer(&["import", "model.tflite", "--out", "t.nnw"], &dir);
    assert_eq!(tflite.status.code(), Some(1));
    assert!(
        stderr(&tflite).contains("model.tflite: not a readable TensorFlow Lite file"),
        "{}",
        stderr(&tflite)
    );
    assert!(!dir.join("k.nnw").exists() && !dir.join("t.nnw").exists());
    let itself = host_trainer(&["export", "iris.nnw", "--onnx", "iris.nnw"], &dir);
    assert_eq!(itself.status.code(), Some(1), "an input is never an output");
    assert_eq!(std::fs::read(dir.join("iris.nnw")).unwrap(), bytes);
}

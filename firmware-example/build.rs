//! Two jobs before the firmware compiles:
//! - Picks the memory map for the target (there is deliberately no memory.x in the crate
//!   root): thumbv7em-none-eabihf -> QEMU mps2-an386, thumbv6m-none-eabi -> QEMU microbit;
//!   `--features nrf52840` picks the nRF52840 DK map instead (a real board; its flash driver).
//! - Generates the typed networks the firmware compiles (`typed_models.rs` in OUT_DIR): one
//!   per shape and kind (f32, int8) of the weight files named in `NN_MODELS`
//!   (comma-separated paths, relative to this crate), read with nn-core's own parser;
//!   without `NN_MODELS`, the demo's shapes (sine, digits) in both kinds, with the
//!   fine-tuning demo for sine; `NN_MODELS=none` compiles none (every file runs on the
//!   run-time path).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use nn_core::{Activation, LayerSpec, WeightFile};

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if !target.starts_with("thumbv") {
        // Built from elsewhere (the workspace root, --manifest-path), cargo does not read
        // this crate's .cargo/config.toml and builds for the host: say what to do instead.
        panic!(
            "firmware-example builds for a Cortex-M target ({target} is not one): run it from inside \
             firmware-example, whose .cargo/config.toml picks the target and the QEMU runner: \
             cd firmware-example && cargo run --release -- MODEL.nnw"
        );
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    memory_map(&out);
    let shapes = typed_shapes();
    println!("cargo::rustc-check-cfg=cfg(typed_models)");
    if !shapes.is_empty() {
        println!("cargo::rustc-cfg=typed_models");
    }
    std::fs::write(out.join("typed_models.rs"), typed_models_source(&shapes)).expect("write typed_models.rs");
}

/// Copies the board's memory map to OUT_DIR as memory.x and sets `cfg(board)` and `cfg(dsp)`.
fn memory_map(out: &Path) {
    let target = std::env::var("TARGET").unwrap_or_default();
    let feature = |name: &str| std::env::var_os(format!("CARGO_FEATURE_{name}")).is_some();
    // A real board is chosen by its feature, which brings its drivers and its log.
    let real = [("nrf52840", feature("NRF52840")), ("rp2040", feature("RP2040"))];
    let chosen: Vec<&str> = real.iter().filter(|(_, on)| *on).map(|(name, _)| *name).collect();
    let board = match (std::env::var("FIRMWARE_BOARD"), chosen.as_slice()) {
        (_, [_, _, ..]) => panic!("one board at a time: features {chosen:?}"),
        (Ok(board), []) if real.iter().any(|(name, _)| *name == board) => {
            panic!("the {board} board is built with `--features {board}` (its drivers and log)")
        }
        (Ok(board), []) => board,
        (_, [board]) => (*board).to_owned(),
        (Err(_), []) if target.starts_with("thumbv6m") => "microbit".to_owned(),
        (Err(_), []) => "mps2-an386".to_owned(),
    };
    let real_board = !chosen.is_empty();
    let map = PathBuf::from("memory").join(format!("{board}.x"));
    std::fs::copy(&map, out.join("memory.x"))
        .unwrap_or_else(|e| panic!("no memory map {}: {e}", map.display()));
    println!("cargo::rustc-link-search={}", out.display());
    println!("cargo::rerun-if-changed={}", map.display());
    println!("cargo::rerun-if-env-changed=FIRMWARE_BOARD");
    println!(
        "cargo::rustc-check-cfg=cfg(board, values(\"mps2-an386\", \"microbit\", \"nrf52840\", \"rp2040\"))"
    );
    println!("cargo::rustc-cfg=board=\"{board}\"");
    // `real_board`: a board with a probe, logging with defmt over RTT rather than semihosting.
    println!("cargo::rustc-check-cfg=cfg(real_board)");
    if real_board {
        println!("cargo::rustc-cfg=real_board");
        // defmt's linker script (its log strings live in an info section).
        println!("cargo::rustc-link-arg=-Tdefmt.x");
    }
    // nn-core's DSP dot products exist on thumbv7em (its build.rs decides the same way).
    println!("cargo::rustc-check-cfg=cfg(dsp)");
    if target.starts_with("thumbv7em") {
        println!("cargo::rustc-cfg=dsp");
    }
}

/// The shapes to compile typed networks for, each once, in the order named.
fn typed_shapes() -> Vec<Typed> {
    println!("cargo::rerun-if-env-changed=NN_MODELS");
    let named = std::env::var("NN_MODELS").unwrap_or_default();
    let named = named.trim();
    if named.is_empty() {
        return demo_shapes();
    }
    if named == "none" {
        return Vec::new();
    }
    let mut shapes: Vec<Typed> = Vec::new();
    for path in named.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        println!("cargo::rerun-if-changed={path}");
        let bytes = std::fs::read(path).unwrap_or_else(|e| {
            panic!(
                "NN_MODELS names {path}, which cannot be read ({e}); paths are relative to firmware-example/"
            )
        });
        let file = WeightFile::parse_exact(&bytes)
            .unwrap_or_else(|e| panic!("NN_MODELS names {path}, which is not a valid weight file: {e}"));
        let layers = file.layers().as_slice().to_vec();
        let int8 = file.kind() == nn_core::ModelKind::Int8;
        match shapes.iter_mut().find(|t| t.layers == layers) {
            Some(typed) => {
                typed.int8 |= int8;
                typed.f32 |= !int8;
            }
            None => shapes.push(Typed {
                layers,
                f32: !int8,
                int8,
                finetune: false,
            }),
        }
    }
    shapes
}

/// A typed network to compile: its layers, the kinds of file it serves, and whether the
/// fine-tuning demo (sine) runs on it.
struct Typed {
    layers: Vec<LayerSpec>,
    f32: bool,
    int8: bool,
    finetune: bool,
}

/// Sine 1-16 relu-16 relu-1 linear (with the fine-tuning demo) and digits 64-32 relu-10
/// softmax, f32 and int8 each.
fn demo_shapes() -> Vec<Typed> {
    let layer = |inputs, outputs, activation| LayerSpec {
        inputs,
        outputs,
        activation,
    };
    let both = |layers: Vec<LayerSpec>, finetune: bool| Typed {
        layers,
        f32: true,
        int8: true,
        finetune,
    };
    vec![
        both(
            vec![
                layer(1, 16, Activation::Relu),
                layer(16, 16, Activation::Relu),
                layer(16, 1, Activation::Identity),
            ],
            true,
        ),
        both(
            vec![
                layer(64, 32, Activation::Relu),
                layer(32, 10, Activation::Softmax),
            ],
            false,
        ),
    ]
}

/// `TYPED_SHAPES` (for messages), `TYPED_WIDEST` (the buffers' width) and `serve_typed`,
/// which tries the file on each typed network in turn.
fn typed_models_source(shapes: &[Typed]) -> String {
    let names: Vec<String> = shapes
        .iter()
        .map(|typed| {
            let kinds = match (typed.f32, typed.int8) {
                (true, true) => "f32 and int8",
                (true, false) => "f32",
                _ => "int8",
            };
            let layers = nn_core::LayerList(typed.layers.iter().copied().collect());
            format!("{layers} ({kinds})")
        })
        .collect();
    let listed = if names.is_empty() {
        "no shape".to_owned()
    } else {
        names.join(", ")
    };
    let widest = shapes
        .iter()
        .flat_map(|t| &t.layers)
        .map(|l| l.inputs.max(l.outputs))
        .max()
        .unwrap_or(0);
    let mut src =
        String::from("// Generated by build.rs from NN_MODELS (or the demo's shapes): do not edit.\n\n");
    let _ = writeln!(src, "/// The shapes this build has typed networks for.");
    let _ = writeln!(src, "const TYPED_SHAPES: &str = {listed:?};");
    let _ = writeln!(src, "/// The widest input or output of a typed network.");
    let _ = writeln!(src, "const TYPED_WIDEST: usize = {widest};\n");
    let _ = writeln!(
        src,
        "/// Runs `file` on the typed network of its shape, or `None` if none was compiled."
    );
    let _ = writeln!(
        src,
        "fn serve_typed(file: &WeightFile<'static>) -> Option<Result<(), Failure>> {{"
    );
    let _ = writeln!(src, "    let _ = file;");
    for typed in shapes {
        let _ = writeln!(
            src,
            "    if let Some(result) = serve::<{}, {}, {}, {}>(file) {{\n        return Some(result);\n    }}",
            nn_core::NetworkType(&typed.layers),
            typed.f32,
            typed.int8,
            typed.finetune
        );
    }
    let _ = writeln!(src, "    None\n}}");
    src
}

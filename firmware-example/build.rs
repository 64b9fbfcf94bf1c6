//! Picks the memory map for the target (there is deliberately no memory.x in the crate root):
//! thumbv7em-none-eabihf -> QEMU mps2-an386, thumbv6m-none-eabi -> QEMU microbit;
//! FIRMWARE_BOARD=nrf52840 picks the nRF52840 DK map instead (a real board).

use std::path::PathBuf;

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    let board = match std::env::var("FIRMWARE_BOARD") {
        Ok(board) => board,
        Err(_) if target.starts_with("thumbv6m") => "microbit".to_owned(),
        Err(_) => "mps2-an386".to_owned(),
    };
    let map = PathBuf::from("memory").join(format!("{board}.x"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::copy(&map, out.join("memory.x"))
        .unwrap_or_else(|e| panic!("no memory map {}: {e}", map.display()));
    println!("cargo::rustc-link-search={}", out.display());
    println!("cargo::rerun-if-changed={}", map.display());
    println!("cargo::rerun-if-env-changed=FIRMWARE_BOARD");
    println!("cargo::rustc-check-cfg=cfg(board, values(\"mps2-an386\", \"microbit\", \"nrf52840\"))");
    println!("cargo::rustc-cfg=board=\"{board}\"");
    // nn-core's DSP dot products exist on thumbv7em (its build.rs decides the same way).
    println!("cargo::rustc-check-cfg=cfg(dsp)");
    if target.starts_with("thumbv7em") {
        println!("cargo::rustc-cfg=dsp");
    }
}

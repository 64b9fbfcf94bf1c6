//! Sets `cfg(nn_core_dsp)` for targets whose cores all have the Armv7E-M DSP instructions
//! (`thumbv7em-*`: Cortex-M4 and M7). Stable Rust does not expose `target_feature = "dsp"`,
//! so the target name is what tells.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(nn_core_dsp)");
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em") {
        println!("cargo::rustc-cfg=nn_core_dsp");
    }
}

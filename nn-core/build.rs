//! Sets `cfg(nn_core_dsp)` for targets whose cores all have the Armv7E-M DSP instructions
//! (`thumbv7em-*`: Cortex-M4 and M7), and `cfg(nn_core_fpv4)` for `thumbv7em-none-eabihf`
//! (the FPU's registers are there). Stable Rust does not expose these target features, so
//! the target name is what tells.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(nn_core_dsp)");
    println!("cargo::rustc-check-cfg=cfg(nn_core_fpv4)");
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em") {
        println!("cargo::rustc-cfg=nn_core_dsp");
    }
    // The hard-float Armv7E-M target always has the FPv4 single-precision registers.
    if target == "thumbv7em-none-eabihf" {
        println!("cargo::rustc-cfg=nn_core_fpv4");
    }
}

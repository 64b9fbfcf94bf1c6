#!/usr/bin/env bash
# Runs every check and test of the project: the README's test command, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

step() { printf '\n==> %s\n' "$*"; }

step "format"
cargo fmt --all --check
step "clippy"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p nn-core --all-targets --features fast-math -- -D warnings
step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
step "nn-core is no_std for real: build it for the thumb targets"
for target in thumbv6m-none-eabi thumbv7em-none-eabihf; do
  cargo build -p nn-core --target "$target" --quiet
  cargo build -p nn-core --target "$target" --features fast-math --quiet
  cargo build -p nn-core --target "$target" --no-default-features --quiet
done
cargo clippy -p nn-core --all-targets --no-default-features -- -D warnings
step "firmware: builds for the emulated M4F and M0, and for real boards (nRF52840 DK, Raspberry Pi Pico)"
(
  cd firmware-example
  cargo fmt --check
  for target in thumbv7em-none-eabihf thumbv6m-none-eabi; do
    cargo clippy --release --quiet --target "$target" -- -D warnings
    cargo build --release --quiet --target "$target"
  done
  # The nRF52840 DK (a real board: built, not run): its map and its NVMC-backed store.
  cargo clippy --release --quiet --features nrf52840 --target thumbv7em-none-eabihf --target-dir target/nrf52840 -- -D warnings
  cargo build --release --quiet --features nrf52840 --target thumbv7em-none-eabihf --target-dir target/nrf52840
  # The Raspberry Pi Pico (RP2040: built, not run; QEMU has no RP2040).
  cargo clippy --release --quiet --features rp2040 --target thumbv6m-none-eabi --target-dir target/rp2040 -- -D warnings
  cargo build --release --quiet --features rp2040 --target thumbv6m-none-eabi --target-dir target/rp2040
  # Their size reports, and the model regions where the READMEs say they are.
  for board in "nrf52840 thumbv7em-none-eabihf 000e0000" "rp2040 thumbv6m-none-eabi 101c0000"; do
    set -- $board
    elf="target/$1/$2/release/firmware-example"
    arm-none-eabi-size "$elf"
    arm-none-eabi-nm "$elf" | grep -q "^$3 A __model_start$" || { echo "$1: the model region is not at 0x$3" >&2; exit 1; }
  done
  # The flash-size probes of scripts/firmware-size.sh.
  for probe in size-f32 size-int8; do
    cargo clippy --release --quiet --features "$probe" --target-dir "target/$probe" -- -D warnings
  done
  cargo clippy --release --quiet --no-default-features --features size-f32 --target-dir target/size-f32-only -- -D warnings
)
step "example"
cargo run --quiet -p nn-core --example xor -- target/xor.nnw
step "tests"
cargo test --workspace
step "tests with fast-math"
cargo test -p nn-core --features fast-math

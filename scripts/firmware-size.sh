#!/usr/bin/env bash
# Flash and RAM of the firmware (from the ELF, `arm-none-eabi-size -A`), and the flash its
# model code takes: a build without printing (`--features silent`) minus an empty firmware
# built the same way (`--features empty`: boots and exits). Weights are not in either: they
# live in the model flash region, outside the program.
#   scripts/firmware-size.sh [TARGET]   (default thumbv7em-none-eabihf)
set -euo pipefail
cd "$(dirname "$0")/../firmware-example"
target=${1:-thumbv7em-none-eabihf}
flash() { arm-none-eabi-size -A "$1" | awk '/^\.(vector_table|text|rodata|data)[ \t]/ { s += $2 } END { print s }'; }
ram() { arm-none-eabi-size -A "$1" | awk '/^\.(data|bss|uninit)[ \t]/ { s += $2 } END { print s }'; }
cargo build --release --quiet --target "$target"
full=target/$target/release/firmware-example
for f in silent empty size-f32 size-int8; do
  cargo build --release --quiet --target "$target" --features "$f" --target-dir "target/$f"
done
# An f32-only loader: nn-core without its int8 feature.
cargo build --release --quiet --target "$target" --no-default-features --features size-f32 \
  --target-dir target/size-f32-only
silent=target/silent/$target/release/firmware-example
empty=target/empty/$target/release/firmware-example
echo "firmware ($target): flash $(flash "$full") bytes, static RAM $(ram "$full") bytes (with printing)"
echo "without printing:   flash $(flash "$silent") bytes, static RAM $(ram "$silent") bytes"
echo "empty firmware:     flash $(flash "$empty") bytes"
echo "whole firmware code (silent - empty): $(( $(flash "$silent") - $(flash "$empty") )) bytes"
for kind in f32 int8 f32-only; do
  probe=target/size-$kind/$target/release/firmware-example
  note=""
  [ "$kind" = f32-only ] && note=" (the 4 KB target: at most 4096)"
  echo "code that loads, checks and runs the sine model, $kind (size-$kind - empty): $(( $(flash "$probe") - $(flash "$empty") )) bytes$note"
done
arm-none-eabi-size -A "$full" | grep -E '^\.(vector_table|text|rodata|data|bss|uninit)[[:space:]]'

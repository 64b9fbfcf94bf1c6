#!/usr/bin/env bash
# Cargo's runner for a real nRF52840 DK (`cargo run-nrf52840 [-- MODEL.nnw]`, an alias in
# .cargo/config.toml): writes the weight file to the board's model flash region, then
# flashes the firmware and streams its report with `probe-rs run` (defmt over RTT).
#   probe-run.sh FIRMWARE.elf [MODEL.nnw]
# Without a model argument the region keeps what it holds (flash a new model alone with the
# same `probe-rs download` line). $PROBE_RS_CHIP overrides the chip name.
set -euo pipefail
elf=$1
model=${2:-}
chip=${PROBE_RS_CHIP:-nRF52840_xxAA}
if ! command -v probe-rs >/dev/null; then
  echo "probe-run.sh: probe-rs is not installed (https://probe.rs: cargo install probe-rs-tools --locked)" >&2
  exit 2
fi
if [ -n "$model" ]; then
  if [ ! -f "$model" ]; then
    echo "probe-run.sh: no weight file $model" >&2
    exit 2
  fi
  addr=$(arm-none-eabi-nm "$elf" | awk '$3 == "__model_start" { print "0x" $1 }')
  end=$(arm-none-eabi-nm "$elf" | awk '$3 == "__model_end" { print "0x" $1 }')
  size=$(stat -c %s "$model")
  if [ -z "$addr" ] || [ "$size" -gt $((end - addr)) ]; then
    echo "probe-run.sh: $model ($size bytes) does not fit the model region of $elf" >&2
    exit 2
  fi
  probe-rs download --chip "$chip" --binary-format bin --base-address "$addr" "$model"
fi
exec probe-rs run --chip "$chip" "$elf"

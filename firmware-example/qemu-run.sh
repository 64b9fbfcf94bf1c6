#!/usr/bin/env bash
# Cargo's runner for the firmware: boots the ELF in QEMU with a weight file in the model
# flash region, and exits with the firmware's status.
#   qemu-run.sh FIRMWARE.elf [MODEL.nnw | none]
# Without a model argument it uses $FIRMWARE_MODEL, else the demo's model
# (../target/demo/sine.nnw, written by scripts/demo.sh). `none` boots with the region empty.
# thumbv6m builds run on the `microbit` machine (Cortex-M0), others on `mps2-an386`
# (Cortex-M4F). $FIRMWARE_STORE, if set, is an image loaded at the adapted-model store
# (__store_start: two slots, see nn_core::store), as a board's flash would hold it after a
# reset. -icount shift=10 makes the emulated clock count instructions, so the
# firmware's instruction counts repeat exactly.
set -euo pipefail
elf=$1
here=$(cd "$(dirname "$0")" && pwd)
model=${2:-${FIRMWARE_MODEL:-$here/../target/demo/sine.nnw}}
case "$elf" in
  *thumbv6m*) machine=(-machine microbit) ;;
  *) machine=(-machine mps2-an386 -cpu cortex-m4) ;;
esac
addr=$(arm-none-eabi-nm "$elf" | awk '$3 == "__model_start" { print "0x" $1 }')
if [ -z "$addr" ]; then
  echo "qemu-run.sh: no __model_start symbol in $elf" >&2
  exit 2
fi
end=$(arm-none-eabi-nm "$elf" | awk '$3 == "__model_end" { print "0x" $1 }')
loader=()
if [ "$model" != none ]; then
  if [ ! -f "$model" ]; then
    echo "qemu-run.sh: no weight file $model (run scripts/demo.sh, or pass MODEL.nnw)" >&2
    exit 2
  fi
  # A file larger than its region would be written over whatever follows it (or past the
  # end of flash, where QEMU stops with no output): refuse it here.
  size=$(stat -c %s "$model")
  region=$((end - addr))
  if [ "$size" -gt "$region" ]; then
    echo "qemu-run.sh: $model is $size bytes, the model region of this firmware ($(basename "$elf"), __model_start..__model_end) holds $region bytes" >&2
    exit 1
  fi
  loader=(-device "loader,file=$model,addr=$addr")
fi
if [ -n "${FIRMWARE_STORE:-}" ]; then
  store=$(arm-none-eabi-nm "$elf" | awk '$3 == "__store_start" { print "0x" $1 }')
  [ -n "$store" ] || { echo "qemu-run.sh: this build has no store region" >&2; exit 2; }
  loader+=(-device "loader,file=$FIRMWARE_STORE,addr=$store")
fi
exec timeout "${QEMU_TIMEOUT:-120}" qemu-system-arm "${machine[@]}" -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -icount shift=10 -kernel "$elf" "${loader[@]}"

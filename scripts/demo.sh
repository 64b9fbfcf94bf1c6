#!/usr/bin/env bash
# The main job, on a fresh machine: install what is missing, train the TensorFlow Lite
# Micro "hello world" sine model with host-trainer, write its weight file, and run the
# firmware on the emulated Cortex-M4F (QEMU mps2-an386) with that file in flash. The board
# prints its predictions next to the host's (`expected`), then PARITY and BENCH lines.
# Then the same for the digits classifier. Each model is also quantized to int8
# (host-trainer quantize) and the int8 file run on the same board build.
#   scripts/demo.sh [sine|digits|all]   (default all)
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
scripts/setup.sh
cargo build --release --quiet -p host-trainer
(cd firmware-example && cargo build --release --quiet)
mkdir -p target/demo
cd target/demo
t=../release/host-trainer
board() {
  echo
  echo "== the emulated board (Cortex-M4F, QEMU mps2-an386) runs $1"
  (cd ../../firmware-example && cargo run --release --quiet -- "$(pwd -P)/../target/demo/$1")
}

if [ "$which" = sine ] || [ "$which" = all ]; then
  echo "== host: train sine (1-16 relu-16 relu-1, Adam, 500 epochs)"
  $t dataset sine --samples 1000 --noise 0.1 --seed 1 --out sine.csv
  $t dataset sine --samples 200 --seed 2 --out sine-test.csv
  $t train --data sine.csv --target y --layers 16:relu,16:relu,1:linear \
    --epochs 500 --val-split 0.2 --seed 1 --out sine.nnw
  $t eval --model sine.nnw --data sine-test.csv --target y
  board sine.nnw
  echo
  echo "== host: quantize sine to int8 (calibration: the training data)"
  $t quantize --model sine.nnw --calib sine.csv --target y --test sine-test.csv --out sine-int8.nnw
  board sine-int8.nnw
fi

if [ "$which" = digits ] || [ "$which" = all ]; then
  echo
  echo "== host: train digits (64-32 relu-10 softmax, pixels / 16, 100 epochs)"
  $t split --data ../../data/digits.csv --target label --test 0.25 --seed 3 \
    --train-out digits-train.csv --test-out digits-test.csv
  $t train --data digits-train.csv --target label --layers 32:relu,10:softmax \
    --normalize divide:16 --epochs 100 --seed 3 --golden 4 --out digits.nnw --quiet
  $t eval --model digits.nnw --data digits-test.csv --target label
  board digits.nnw
  echo
  echo "== host: quantize digits to int8 (calibration: the training split)"
  $t quantize --model digits.nnw --calib digits-train.csv --target label --test digits-test.csv \
    --out digits-int8.nnw
  board digits-int8.nnw
fi

#!/usr/bin/env bash
# The main job: train the TensorFlow Lite Micro "hello world" sine model with host-trainer,
# write its weight file (with golden vectors, loss plot and Rust type beside it), and
# evaluate it on clean sin x. (The firmware issue adds: flash it to the emulated board and
# show the board's predictions.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet -p host-trainer
mkdir -p target/demo && cd target/demo
../release/host-trainer dataset sine --samples 1000 --noise 0.1 --seed 1 --out sine.csv
../release/host-trainer dataset sine --samples 200 --seed 2 --out sine-test.csv
../release/host-trainer train --data sine.csv --target y --layers 16:relu,16:relu,1:linear \
  --epochs 500 --val-split 0.2 --seed 1 --out sine.nnw
../release/host-trainer inspect sine.nnw
echo "golden vectors (raw input, nn-core's output):"
cat sine.golden.csv
../release/host-trainer eval --model sine.nnw --data sine-test.csv --target y

#!/usr/bin/env bash
# The README's three examples from the command line: the Keras tutorial's parabola, TFLM's
# sine, and the digits classifier. Prints one line per model: its name, then the metrics
# (JSON) of `host-trainer eval` on held-out data.
#   scripts/examples.sh [WORKDIR]     (default target/examples)
# Uses $HOST_TRAINER if set, else builds the release binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$root/target/examples}
mkdir -p "$work" && cd "$work"
if [ -z "${HOST_TRAINER:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p host-trainer
  HOST_TRAINER=$root/target/release/host-trainer
fi
t() { "$HOST_TRAINER" "$@"; }

# 1. The tutorial: y = x² on 100 points, Adam, MSE, 1000 epochs, no normalization.
t dataset square --samples 100 --seed 1 --out square.csv >/dev/null
t train --data square.csv --target y --layers 1:linear,1:linear --normalize none --epochs 1000 --seed 1 --out line.nnw --quiet
echo "tutorial-1-1-1 $(t eval --model line.nnw --data square.csv --target y --json)"
t train --data square.csv --target y --layers 16:tanh,1:linear --init he-uniform --normalize none --epochs 1000 --seed 1 --out bend.nnw --quiet
echo "tutorial-1-16-1 $(t eval --model bend.nnw --data square.csv --target y --json)"

# 2. Sine: 1000 noisy samples, 1-16 relu-16 relu-1, 500 epochs; tested on clean sin x.
t dataset sine --samples 1000 --noise 0.1 --seed 1 --out sine.csv >/dev/null
t dataset sine --samples 200 --seed 2 --out sine-test.csv >/dev/null
t train --data sine.csv --target y --layers 16:relu,16:relu,1:linear --epochs 500 --seed 1 --out sine.nnw --quiet
echo "sine $(t eval --model sine.nnw --data sine-test.csv --target y --json)"

# 3. Digits: stratified 75/25 split, pixels / 16, 64-32 relu-10 softmax, 100 epochs.
t split --data "$root/data/digits.csv" --target label --test 0.25 --seed 3 \
  --train-out digits-train.csv --test-out digits-test.csv >/dev/null
t train --data digits-train.csv --target label --layers 32:relu,10:softmax --normalize divide:16 --epochs 100 --seed 3 --out digits.nnw --quiet
echo "digits $(t eval --model digits.nnw --data digits-test.csv --target label --json)"

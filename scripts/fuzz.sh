#!/usr/bin/env bash
# Fuzz the weight-file decoder and the importers (not run in CI: it needs nightly and takes
# minutes).
#   scripts/fuzz.sh [RUNS [IMPORT_RUNS]]   default 5,000,000 and 500,000 executions
# Seeds the decoder's corpus with the committed fixture and a file per typed shape the
# target loads, the importers' with the ONNX, Keras and TFLite fixtures.
set -euo pipefail
cd "$(dirname "$0")/../nn-core/fuzz"
runs=${1:-5000000}
import_runs=${2:-500000}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
mkdir -p corpus/decode
cp ../tests/fixtures/*.nnw corpus/decode/
cargo +nightly fuzz run decode -- -runs="$runs" -max_len=4096 -print_final_stats=1
# The importers (host-trainer import): ONNX, .keras, .h5, .tflite.
cd ../../host-trainer/fuzz
mkdir -p corpus/import
cp ../tests/fixtures/onnx/*.onnx ../tests/fixtures/keras/*.keras ../tests/fixtures/keras/*.h5 \
  ../tests/fixtures/tflite/*.tflite corpus/import/
cargo +nightly fuzz run import -- -runs="$import_runs" -max_len=65536 -print_final_stats=1

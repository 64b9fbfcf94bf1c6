#!/usr/bin/env bash
# Fuzz the weight-file decoder (not run in CI: it needs nightly and takes minutes).
#   scripts/fuzz.sh [RUNS]   default 5,000,000 executions
# Seeds the corpus with the committed fixture and a file per typed shape the target loads.
set -euo pipefail
cd "$(dirname "$0")/../nn-core/fuzz"
runs=${1:-5000000}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
mkdir -p corpus/decode
cp ../tests/fixtures/*.nnw corpus/decode/
cargo +nightly fuzz run decode -- -runs="$runs" -max_len=4096 -print_final_stats=1

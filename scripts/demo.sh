#!/usr/bin/env bash
# The main job. For now: train XOR with nn-core, save the weight file, load it back and
# check its test vectors. (The sine model flashed to an emulated board replaces this when
# the host-trainer and firmware issues land.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo run --release --quiet -p nn-core --example xor -- target/xor.nnw

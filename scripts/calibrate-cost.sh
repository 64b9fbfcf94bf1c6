#!/usr/bin/env bash
# Calibrates `host-trainer search`'s cost model: measures instructions per inference of
# networks of random shapes on the emulated Cortex-M4F and Cortex-M0 (the unmodified
# firmware's run-time path, f32 and int8), 200 shapes to fit (seed 1) and 80 held out
# (seed 2), into host-trainer/calibration/, then fits the model and writes
# host-trainer/src/cost_calibration.rs (the errors on the held-out shapes on stderr).
# About 5 minutes on 2 cores. Run it after a change to nn-core's kernels or the firmware.
#   scripts/calibrate-cost.sh [FIT_SHAPES HELD_OUT_SHAPES]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
fit_shapes=${1:-200}
held_shapes=${2:-80}
dir=host-trainer/calibration
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo build --release --quiet -p integration-tests --example measure_cost --example fit_cost
cargo run --release --quiet -p integration-tests --example measure_cost -- "$fit_shapes" 1 "$tmp/fit.csv" &
fit=$!
cargo run --release --quiet -p integration-tests --example measure_cost -- "$held_shapes" 2 "$tmp/held-out.csv"
wait "$fit"
cargo run --release --quiet -p integration-tests --example fit_cost -- "$tmp/fit.csv" "$tmp/held-out.csv" > "$tmp/cost_calibration.rs"
mv "$tmp/fit.csv" "$tmp/held-out.csv" "$dir/"
mv "$tmp/cost_calibration.rs" host-trainer/src/cost_calibration.rs
echo "wrote $dir/fit.csv, $dir/held-out.csv and host-trainer/src/cost_calibration.rs"

#!/usr/bin/env bash
# Training speed side by side on this machine: `host-trainer bench` built for this CPU
# (AVX-512 where it has it) and for x86-64-v3 (AVX2 only), on two threads and on one, against
# the peers' PyTorch scripts on the same thread counts (and Keras with --keras), alternating
# case by case; prints medians, spreads and ratios (scripts/speed_side.py). Needs the peers'
# Python environment: see ../shared/peers/README.md (activate it first). Not part of the
# tests: a benchmark prints figures, it asserts none.
#   scripts/speed-side.sh [--rounds N] [--keras] [--cases sine,784] [--threads 2,1]
#   (PEERS=path/to/peers if not ../shared/peers)
set -euo pipefail
cd "$(dirname "$0")/.."
peers=${PEERS:-../shared/peers}
[ -f "$peers/sine.py" ] || { echo "speed-side.sh: no $peers/sine.py (set PEERS)" >&2; exit 2; }
cargo build --release --quiet -p host-trainer
# RUSTFLAGS replaces the workspace's target-cpu=native for this one build.
RUSTFLAGS="-C target-cpu=x86-64-v3" cargo build --release --quiet -p host-trainer --target-dir target/x86-64-v3
native=$(target/release/host-trainer bench --only none 2>/dev/null | sed -n 's/.*build: \([^;]*\).*/\1/p')
python3 scripts/speed_side.py --peers "$peers" --digits data/digits.csv --out target/speed.jsonl \
  --trainer "native (${native:-this CPU})=target/release/host-trainer" \
  --trainer "x86-64-v3=target/x86-64-v3/release/host-trainer" "$@"
# The core's f32 FMA peak, to state the large case's share of it.
gcc -O2 -march=native scripts/fma-peak.c -o target/fma-peak && target/fma-peak
gcc -O2 -march=x86-64-v3 scripts/fma-peak.c -o target/fma-peak-v3 && target/fma-peak-v3

#!/usr/bin/env bash
# Training speed side by side: `host-trainer bench` and the PyTorch and Keras scripts of the
# same cases, alternating case by case on this machine, with medians and ratios (the peers'
# speed_side.py). Needs the peers' Python environment: see ../shared/peers/README.md
# (activate it first). Not part of the tests: a benchmark prints figures, it asserts none.
#   scripts/speed-side.sh [ROUNDS]      (default 3; PEERS=path/to/peers if not ../shared/peers)
set -euo pipefail
cd "$(dirname "$0")/.."
peers=${PEERS:-../shared/peers}
[ -f "$peers/speed_side.py" ] || { echo "speed-side.sh: no $peers/speed_side.py (set PEERS)" >&2; exit 2; }
cargo build --release --quiet -p host-trainer
mkdir -p target
python3 "$peers/speed_side.py" --trainer target/release/host-trainer --digits data/digits.csv \
  --out target/speed.jsonl --rounds "${1:-3}"

#!/usr/bin/env bash
# The int8 fixtures' outputs from TensorFlow Lite Micro's own reference kernels (its default build:
# double rounding), the independent reference nn-core's `tflm` module is tested against. Run by hand
# (not in CI), in the peers' Python environment (for TensorFlow's flatbuffer schema module):
#     scripts/tflm-reference.sh TFLITE_MICRO_CHECKOUT GEMMLOWP_CHECKOUT
# (git clone https://github.com/tensorflow/tflite-micro and https://github.com/google/gemmlowp).
# It compiles scripts/tflm-reference/run.cc with TFLite Micro's kernel headers and quantization
# utilities, runs each fixture's rows (dump.py writes the model and rows as text), and stores the
# outputs as `tflm_outputs` in host-trainer/tests/fixtures/tflite/NAME.json, with the commits used.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tflm="$(cd "$1" && pwd)"
gemmlowp="$(cd "$2" && pwd)"
python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# ruy's profiler only labels scopes in the reference kernels: a no-op stands in for it.
mkdir -p "$work/ruy/profiler"
cat > "$work/ruy/profiler/instrumentation.h" <<'STUB'
#pragma once
namespace ruy { namespace profiler { struct ScopeLabel { template <typename... A> explicit ScopeLabel(A...) {} }; } }
STUB
g++ -std=c++17 -O1 -I"$tflm" -I"$gemmlowp" -I"$work" -o "$work/run" "$root/scripts/tflm-reference/run.cc" \
  "$tflm/tensorflow/lite/kernels/internal/quantization_util.cc" \
  "$tflm/tensorflow/lite/kernels/internal/common.cc" \
  "$tflm/tensorflow/lite/kernels/internal/runtime_shape.cc"
fixtures="$root/host-trainer/tests/fixtures/tflite"
for name in iris_int8 sine_int8; do
  "$python" "$root/scripts/tflm-reference/dump.py" "$fixtures/$name.tflite" "$fixtures/$name.json" > "$work/$name.txt"
  "$work/run" < "$work/$name.txt" > "$work/$name.out"
  "$python" - "$fixtures/$name.json" "$work/$name.out" \
    "$(git -C "$tflm" rev-parse HEAD 2>/dev/null || echo unknown)" \
    "$(git -C "$gemmlowp" rev-parse HEAD 2>/dev/null || echo unknown)" <<'PY'
import json, struct, sys
path, out, tflm, gemmlowp = sys.argv[1:]
f32 = lambda v: struct.unpack("f", struct.pack("f", float(v)))[0]  # %.9g reads back as the f32
record = json.load(open(path))
record["outputs"] = [[f32(v) for v in row] for row in record["outputs"]]
record["tflm_outputs"] = [[f32(v) for v in line.split()] for line in open(out)]
record["tflm_commits"] = {"tflite-micro": tflm, "gemmlowp": gemmlowp}
differ = sum(a != b for a, b in zip(record["outputs"], record["tflm_outputs"]))
print(path, ":", differ, "of", len(record["outputs"]), "rows differ from the interpreter's")
json.dump(record, open(path, "w"), indent=1)
PY
done

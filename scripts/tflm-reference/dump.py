#!/usr/bin/env python3
"""Writes an int8 .tflite model and input rows as plain text for run.cc (TensorFlow Lite Micro's
reference kernels): the operators in order, with their tensors' scales and zero points and their
constant data (read with TensorFlow's own flatbuffer schema module), then the rows.

    python dump.py MODEL.tflite ROWS.json > MODEL.txt     (ROWS.json: {"inputs": [[...], ...]})
"""
import json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
from tensorflow.lite.python import schema_py_generated as schema

model = schema.ModelT.InitFromPackedBuf(open(sys.argv[1], "rb").read(), 0)
rows = json.load(open(sys.argv[2]))["inputs"]
graph = model.subgraphs[0]
CODES = {6: "DEQUANTIZE", 9: "FC", 14: "LOGISTIC", 18: "MUL", 22: "RESHAPE", 25: "SOFTMAX", 28: "TANH",
         41: "SUB", 0: "ADD", 114: "QUANTIZE"}
TYPES = {9: np.int8, 2: np.int32}


def tensor(i):
    return graph.tensors[i]


def scalar(i):
    q = tensor(i).quantization
    return f"{float(q.scale[0])!r} {int(q.zeroPoint[0])}"


def data(i):
    t = tensor(i)
    raw = model.buffers[t.buffer].data
    return np.frombuffer(bytes(raw), dtype=TYPES[t.type]) if raw is not None else None


lines = []
first = tensor(graph.inputs[0])
lines.append(f"INPUT int8 {scalar(graph.inputs[0])}" if first.type == 9 else "INPUT float 0 0")
for op in graph.operators:
    code = model.operatorCodes[op.opcodeIndex]
    name = CODES[max(code.builtinCode, code.deprecatedBuiltinCode)]
    ins, outs = list(op.inputs), list(op.outputs)
    if name == "QUANTIZE":
        lines.append(f"QUANTIZE {scalar(outs[0])}")
    elif name in ("SUB", "ADD", "MUL"):
        c, x = (ins[1], ins[0]) if data(ins[1]) is not None else (ins[0], ins[1])
        values = data(c)
        lines.append(f"{name} {scalar(x)} {scalar(c)} {scalar(outs[0])} {len(values)} "
                     + " ".join(str(int(v)) for v in values))
    elif name == "FC":
        w, b = ins[1], ins[2]
        scales = tensor(w).quantization.scale
        outputs, inputs = tensor(w).shape
        bias = data(b) if b >= 0 else np.zeros(outputs, dtype=np.int32)
        fused = op.builtinOptions.fusedActivationFunction
        lines.append(f"FC {scalar(ins[0])} {scalar(outs[0])} {fused} {outputs} {inputs} {len(scales)} "
                     + " ".join(repr(float(s)) for s in scales) + " "
                     + " ".join(str(int(v)) for v in data(w)) + " " + " ".join(str(int(v)) for v in bias))
    elif name in ("LOGISTIC", "TANH"):
        lines.append(f"{name} {scalar(ins[0])} {scalar(outs[0])}")
    elif name == "SOFTMAX":
        lines.append(f"SOFTMAX {scalar(ins[0])} {float(op.builtinOptions.beta)!r} {scalar(outs[0])}")
    elif name == "DEQUANTIZE":
        lines.append(f"DEQUANTIZE {scalar(ins[0])}")
last = tensor(graph.outputs[0])
if last.type == 9:
    lines.append(f"DEQUANTIZE {scalar(graph.outputs[0])}")
lines.append(f"ROWS {len(rows)} {len(rows[0])}")
for r in rows:
    lines.append(" ".join(repr(float(np.float32(v))) for v in r))
print("\n".join(lines))

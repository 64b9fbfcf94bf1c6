#!/usr/bin/env python3
"""Writes the ONNX fixtures host-trainer's import tests read (host-trainer/tests/fixtures/onnx/),
made by the real frameworks, with each framework's own outputs on a few inputs.

Run by hand (not in CI; CI reads the committed files and needs no Python), in the peers'
virtual environment (../shared/peers/README.md, plus `pip install onnx onnxruntime onnxscript`):
    python scripts/onnx-fixtures.py [--host-trainer target/release/host-trainer]
It states the versions it used in host-trainer/tests/fixtures/onnx/versions.json.

- torch_iris.onnx: PyTorch, (x - mean) / std in the model, Linear 4-16, ReLU, Linear 16-3,
  Softmax, trained on data/iris.csv; torch.onnx.export (TorchScript exporter, opset 13).
- torch_sine.onnx: PyTorch, Linear 1-16 ReLU 16-16 LeakyReLU(0.01) 16-1 Tanh... exported by
  the dynamo exporter (opset 18), whose graphs use MatMul + Add or Gemm as it sees fit.
- torch_conv.onnx, torch_skip.onnx: a Conv1d and a residual connection, to be refused.
- hosttrainer_iris.onnx: host-trainer's own `export --onnx` of a model it trained, and
  onnxruntime's outputs for it.
Each *.json holds `inputs` (raw rows) and `outputs` (the framework's), and for the exports
onnxruntime's outputs too.
"""
import argparse, json, os, subprocess, sys, tempfile

# This directory holds profile.py, which would shadow the standard module torch imports.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np
import onnx
import onnxruntime as ort
import torch

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, "host-trainer", "tests", "fixtures", "onnx")


def iris():
    data = np.loadtxt(os.path.join(ROOT, "data", "iris.csv"), delimiter=",", skiprows=1, dtype=np.float32)
    return data[:, :4], data[:, 4].astype(np.int64)


def ort_run(path, x):
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run(None, {name: x})[0]


def save(name, x, outputs, extra=None):
    record = {"inputs": x.tolist(), "outputs": np.asarray(outputs, dtype=np.float32).tolist()}
    record.update(extra or {})
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(record, f, indent=1)


class Standardize(torch.nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean))
        self.register_buffer("std", torch.tensor(std))

    def forward(self, x):
        return (x - self.mean) / self.std


def torch_iris():
    torch.manual_seed(1)
    x, y = iris()
    model = torch.nn.Sequential(
        Standardize(x.mean(axis=0), x.std(axis=0)),
        torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3), torch.nn.Softmax(dim=1))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(300):
        opt.zero_grad()
        loss = torch.nn.functional.nll_loss(torch.log(model(xt) + 1e-7), yt)
        loss.backward()
        opt.step()
    model.eval()
    path = os.path.join(OUT, "torch_iris.onnx")
    torch.onnx.export(model, (xt[:1],), path, opset_version=13, input_names=["features"],
                      output_names=["probabilities"], dynamic_axes={"features": {0: "batch"}}, dynamo=False)
    rows = x[[0, 1, 50, 51, 100, 101, 149]]
    with torch.no_grad():
        ours = model(torch.tensor(rows)).numpy()
    save("torch_iris", rows, ours, {"onnxruntime": ort_run(path, rows).tolist(),
                                     "accuracy": float((model(xt).argmax(1) == yt).float().mean())})


def torch_sine():
    torch.manual_seed(2)
    x = np.linspace(0, 2 * np.pi, 400, dtype=np.float32)[:, None]
    y = np.sin(x)
    model = torch.nn.Sequential(
        torch.nn.Linear(1, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.LeakyReLU(0.01),
        torch.nn.Linear(16, 1), torch.nn.Tanh())
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(500):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(xt), yt)
        loss.backward()
        opt.step()
    model.eval()
    path = os.path.join(OUT, "torch_sine.onnx")
    program = torch.onnx.export(model, (xt[:2],), dynamo=True, opset_version=18,
                                dynamic_shapes=({0: torch.export.Dim("batch")},))
    program.save(path)
    rows = np.array([[0.0], [0.5], [1.5], [3.0], [4.5], [6.0]], dtype=np.float32)
    with torch.no_grad():
        ours = model(torch.tensor(rows)).numpy()
    save("torch_sine", rows, ours, {"onnxruntime": ort_run(path, rows).tolist()})


def torch_refused():
    conv = torch.nn.Sequential(torch.nn.Unflatten(1, (1, 8)), torch.nn.Conv1d(1, 2, 3), torch.nn.Flatten(),
                               torch.nn.Linear(12, 1))
    torch.onnx.export(conv, (torch.zeros(1, 8),), os.path.join(OUT, "torch_conv.onnx"), opset_version=13, dynamo=False)

    class Skip(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(4, 4), torch.nn.Linear(4, 2)

        def forward(self, x):
            return self.b(torch.relu(self.a(x)) + x)

    torch.onnx.export(Skip(), (torch.zeros(1, 4),), os.path.join(OUT, "torch_skip.onnx"), opset_version=13, dynamo=False)


def host_trainer_iris(trainer):
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "iris.nnw")
        subprocess.run([trainer, "train", "--data", os.path.join(ROOT, "data", "iris.csv"), "--target", "label",
                        "--layers", "8:tanh,3:softmax", "--epochs", "60", "--lr", "0.02", "--seed", "4",
                        "--quiet", "--out", model], check=True)
        path = os.path.join(OUT, "hosttrainer_iris.onnx")
        subprocess.run([trainer, "export", model, "--onnx", path], check=True)
    onnx.checker.check_model(onnx.load(path))
    x, _ = iris()
    rows = x[[0, 1, 50, 51, 100, 101, 149]]
    outputs = ort_run(path, rows)
    save("hosttrainer_iris", rows, outputs, {"onnxruntime": outputs.tolist()})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host-trainer", default=os.path.join(ROOT, "target", "release", "host-trainer"))
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    torch_iris()
    torch_sine()
    torch_refused()
    host_trainer_iris(args.host_trainer)
    versions = {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__,
                "numpy": np.__version__, "python": sys.version.split()[0]}
    with open(os.path.join(OUT, "versions.json"), "w") as f:
        json.dump(versions, f, indent=1)
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()

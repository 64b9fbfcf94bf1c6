#!/usr/bin/env python3
"""Writes the fixtures host-trainer's import tests read (host-trainer/tests/fixtures/onnx/ and
keras/), made by the real frameworks, with each framework's own outputs on a few inputs.

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
- keras/iris.keras and keras/iris.h5: Keras 3, Sequential: Input, Normalization (adapted),
  Dense 16 relu, Dropout, Dense 3, Activation softmax; saved both ways.
- keras/func.keras: Keras 3, Functional: Rescaling, Dense 8 tanh, Dense 8, LeakyReLU(0.01),
  Dense 1 sigmoid, with layer names of its own (the weights file keys by class, not name).
- keras/keras2.h5: Keras 2 (tf_keras), Sequential Dense 6 relu, Dense 2 softmax (if tf_keras
  is installed).
- keras/conv.keras, keras/branch.keras: a Conv1D and two branches, to be refused.
- tflite/iris_f32.tflite and tflite/iris_int8.tflite: keras/iris.keras through the TFLite
  converter, f32, and int8 (full integer, representative data set, int8 input and output),
  with the TFLite interpreter's outputs.
- tflite/iris_int8.json, tflite/sine_int8.tflite and .json (`--only tflite-int8` writes just
  these, from the committed keras/iris.keras): the int8 models' outputs from the TFLite
  interpreter with its reference kernels (those TFLite Micro runs), dequantized, on every
  row; int8 inputs are quantized as TFLite's QUANTIZE does (round half away from zero).
  sine_int8: Keras Dense 16 tanh, Dense 16 sigmoid, Dense 1 on TFLM's sine data, converted
  with float input and output (QUANTIZE and DEQUANTIZE at the edges), per-tensor weights.
  tflite/conv.tflite and conv_int8.tflite: keras/conv.keras converted, to be refused;
  tflite/sine_16x8.tflite: the sine model with int16 activations, to be refused.
- onnx/tf2onnx_iris.onnx (`--only tf2onnx` writes just this, from the committed
  keras/iris.keras): the Keras model exported as a SavedModel and converted by tf2onnx's
  command line (`python -m tf2onnx.convert --saved-model`, opset 13; tf2onnx installed with
  `pip install --no-deps tf2onnx`), with Keras' and onnxruntime's outputs on every iris row.
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


KERAS = os.path.join(ROOT, "host-trainer", "tests", "fixtures", "keras")


def keras_models():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    os.makedirs(KERAS, exist_ok=True)
    x, y = iris()
    rows = x[[0, 1, 50, 51, 100, 101, 149]]
    keras.utils.set_random_seed(1)
    norm = keras.layers.Normalization()
    norm.adapt(x)
    model = keras.Sequential([keras.Input((4,)), norm, keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.1), keras.layers.Dense(3), keras.layers.Activation("softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=60, verbose=0)
    model.save(os.path.join(KERAS, "iris.keras"))
    model.save(os.path.join(KERAS, "iris.h5"))
    save_to(KERAS, "iris", rows, model.predict(rows, verbose=0))

    inp = keras.Input((4,), name="measurements")
    h = keras.layers.Rescaling(0.1, offset=-0.3, name="scaled")(inp)
    h = keras.layers.Dense(8, activation="tanh", name="hidden")(h)
    h = keras.layers.Dense(8, name="second")(h)
    h = keras.layers.LeakyReLU(negative_slope=0.01, name="leaky")(h)
    out = keras.layers.Dense(1, activation="sigmoid", name="is_virginica")(h)
    func = keras.Model(inp, out, name="virginica")
    func.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy")
    func.fit(x, (y == 2).astype(np.float32), epochs=60, verbose=0)
    func.save(os.path.join(KERAS, "func.keras"))
    save_to(KERAS, "func", rows, func.predict(rows, verbose=0))

    conv = keras.Sequential([keras.Input((8, 1)), keras.layers.Conv1D(2, 3), keras.layers.Flatten(),
                             keras.layers.Dense(1)])
    conv.save(os.path.join(KERAS, "conv.keras"))
    a = keras.Input((4,))
    b1, b2 = keras.layers.Dense(3)(a), keras.layers.Dense(3)(a)
    keras.Model(a, keras.layers.Add()([b1, b2])).save(os.path.join(KERAS, "branch.keras"))
    tflite_models(model, x, rows)
    return keras.__version__


def tflite_models(model, x, rows):
    import tensorflow as tf
    directory = os.path.join(ROOT, "host-trainer", "tests", "fixtures", "tflite")
    os.makedirs(directory, exist_ok=True)
    f32 = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    path = os.path.join(directory, "iris_f32.tflite")
    with open(path, "wb") as f:
        f.write(f32)
    interpreter = tf.lite.Interpreter(model_path=path)
    interpreter.allocate_tensors()
    outputs = []
    for row in rows:
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], row[None, :])
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0])
    save_to(directory, "iris_f32", rows, outputs)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[i:i + 1]] for i in range(len(x)))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    with open(os.path.join(directory, "iris_int8.tflite"), "wb") as f:
        f.write(converter.convert())


def tflite_run(path, x):
    """The interpreter's outputs on the rows of x with TFLite's reference kernels (those TFLite
    Micro runs) and with its default ones, dequantized."""
    import tensorflow as tf
    results = []
    for resolver in [tf.lite.experimental.OpResolverType.BUILTIN_REF, tf.lite.experimental.OpResolverType.AUTO]:
        it = tf.lite.Interpreter(model_path=path, experimental_op_resolver_type=resolver)
        it.allocate_tensors()
        inp, out = it.get_input_details()[0], it.get_output_details()[0]
        rows = []
        for row in x:
            row = np.asarray(row, dtype=np.float32)
            if inp["dtype"] == np.int8:
                scale, zp = inp["quantization"]
                t = row / np.float32(scale)
                r = np.where(t >= 0, np.floor(t + np.float32(0.5)), np.ceil(t - np.float32(0.5)))
                it.set_tensor(inp["index"], np.clip(r + zp, -128, 127).astype(np.int8)[None, :])
            else:
                it.set_tensor(inp["index"], row[None, :])
            it.invoke()
            y = it.get_tensor(out["index"])[0]
            if out["dtype"] == np.int8:
                scale, zp = out["quantization"]
                y = (y.astype(np.float32) - np.float32(zp)) * np.float32(scale)
            rows.append(np.asarray(y, dtype=np.float32))
        results.append(np.array(rows))
    reference, default = results
    print(path, "reference and default kernels differ in", int((reference != default).sum()), "outputs")
    return reference


def tflite_int8_models():
    import tensorflow as tf
    import keras
    directory = os.path.join(ROOT, "host-trainer", "tests", "fixtures", "tflite")
    x, _ = iris()
    save_to(directory, "iris_int8", x, tflite_run(os.path.join(directory, "iris_int8.tflite"), x))
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    sx = rng.uniform(0, 2 * np.pi, size=(1000, 1)).astype(np.float32)
    sy = (np.sin(sx) + rng.normal(0, 0.1, size=sx.shape)).astype(np.float32)
    sine = keras.Sequential([keras.Input((1,)), keras.layers.Dense(16, activation="tanh"),
                             keras.layers.Dense(16, activation="sigmoid"), keras.layers.Dense(1)])
    sine.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    sine.fit(sx, sy, epochs=40, batch_size=32, verbose=0)
    converter = tf.lite.TFLiteConverter.from_keras_model(sine)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([sx[i:i + 1]] for i in range(0, len(sx), 5))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    path = os.path.join(directory, "sine_int8.tflite")
    with open(path, "wb") as f:
        f.write(converter.convert())
    grid = np.linspace(-0.5, 7.0, 301, dtype=np.float32)[:, None]
    save_to(directory, "sine_int8", grid, tflite_run(path, grid))
    # 16x8 quantization (int16 activations), to be refused.
    converter = tf.lite.TFLiteConverter.from_keras_model(sine)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([sx[i:i + 1]] for i in range(0, len(sx), 5))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    with open(os.path.join(directory, "sine_16x8.tflite"), "wb") as f:
        f.write(converter.convert())
    # A convolution, to be refused with its operator named: keras/conv.keras, f32 and int8.
    conv = keras.models.load_model(os.path.join(KERAS, "conv.keras"))
    with open(os.path.join(directory, "conv.tflite"), "wb") as f:
        f.write(tf.lite.TFLiteConverter.from_keras_model(conv).convert())
    converter = tf.lite.TFLiteConverter.from_keras_model(conv)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    cx = rng.normal(size=(64, 8, 1)).astype(np.float32)
    converter.representative_dataset = lambda: ([cx[i:i + 1]] for i in range(len(cx)))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with open(os.path.join(directory, "conv_int8.tflite"), "wb") as f:
        f.write(converter.convert())
    with open(os.path.join(directory, "versions.json"), "w") as f:
        json.dump({"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__}, f, indent=1)


def tf2onnx_model():
    import tf2onnx
    import keras
    x, _ = iris()
    model = keras.models.load_model(os.path.join(KERAS, "iris.keras"))
    with tempfile.TemporaryDirectory() as tmp:
        model.export(os.path.join(tmp, "saved"))
        path = os.path.join(OUT, "tf2onnx_iris.onnx")
        subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--saved-model", os.path.join(tmp, "saved"),
                        "--output", path, "--opset", "13"], check=True)
    record = {"inputs": x.tolist(), "outputs": np.asarray(model.predict(x, verbose=0), dtype=np.float32).tolist(),
              "onnxruntime": np.asarray(ort_run(path, x), dtype=np.float32).tolist(),
              "tf2onnx": tf2onnx.__version__}
    with open(os.path.join(OUT, "tf2onnx_iris.json"), "w") as f:
        json.dump(record, f, indent=1)


def keras2_model():
    try:
        import tf_keras
    except ImportError:
        print("tf_keras is not installed: no Keras 2 fixture written")
        return None
    x, y = iris()
    tf_keras.utils.set_random_seed(2)
    model = tf_keras.Sequential([tf_keras.layers.Dense(6, activation="relu", input_shape=(4,)),
                                 tf_keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=tf_keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=60, verbose=0)
    model.save(os.path.join(KERAS, "keras2.h5"))
    rows = x[[0, 1, 50, 51, 100, 101, 149]]
    save_to(KERAS, "keras2", rows, model.predict(rows, verbose=0))
    return tf_keras.__version__


def save_to(directory, name, x, outputs):
    record = {"inputs": np.asarray(x).tolist(), "outputs": np.asarray(outputs, dtype=np.float32).tolist()}
    with open(os.path.join(directory, name + ".json"), "w") as f:
        json.dump(record, f, indent=1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host-trainer", default=os.path.join(ROOT, "target", "release", "host-trainer"))
    parser.add_argument("--only", choices=["tflite-int8", "tf2onnx"], help="write only these fixtures")
    args = parser.parse_args()
    if args.only == "tflite-int8":
        tflite_int8_models()
        return
    if args.only == "tf2onnx":
        tf2onnx_model()
        return
    os.makedirs(OUT, exist_ok=True)
    torch_iris()
    torch_sine()
    torch_refused()
    host_trainer_iris(args.host_trainer)
    keras_version = keras_models()
    tf_keras_version = keras2_model()
    tf2onnx_model()
    versions = {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__,
                "keras": keras_version, "tf_keras": tf_keras_version,
                "numpy": np.__version__, "python": sys.version.split()[0]}
    with open(os.path.join(OUT, "versions.json"), "w") as f:
        json.dump(versions, f, indent=1)
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()

"""Three steps of each Keras optimizer on a fixed vector with fixed gradients, and Keras'
learning-rate schedules at a few steps: the reference values of
host-trainer/tests/options.rs (run by hand: needs keras, see ../shared/peers/README.md).

    python scripts/keras-optimizer-steps.py
"""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np

START = np.array([0.5, -1.0, 2.0, 0.0], dtype=np.float32)
GRADS = [
    np.array([0.1, -0.2, 0.3, 0.05], dtype=np.float32),
    np.array([-0.4, 0.1, 0.2, 0.0], dtype=np.float32),
    np.array([0.25, 0.25, -0.5, 1.0], dtype=np.float32),
]
OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(learning_rate=0.1),
    "momentum": lambda: keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
    "adam": lambda: keras.optimizers.Adam(learning_rate=0.01),
    "adamw": lambda: keras.optimizers.AdamW(learning_rate=0.01, weight_decay=0.004),
    "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=0.01),
    "clipnorm": lambda: keras.optimizers.SGD(learning_rate=0.1, clipnorm=0.3),
    "clipvalue": lambda: keras.optimizers.SGD(learning_rate=0.1, clipvalue=0.2),
}
print(f"# keras {keras.__version__}, backend {keras.backend.backend()}")
# Two variables, as a Dense(1) layer of 3 inputs holds them: a kernel of the first three
# values and a bias of the last (clipnorm clips each variable on its own).
for name, make in OPTIMIZERS.items():
    kernel, bias = keras.Variable(START[:3].copy()), keras.Variable(START[3:].copy())
    optimizer = make()
    for g in GRADS:
        grads = [keras.ops.convert_to_tensor(g[:3]), keras.ops.convert_to_tensor(g[3:])]
        optimizer.apply(grads, [kernel, bias])
    values = ", ".join(f"{v:.9e}" for v in np.concatenate([np.asarray(kernel), np.asarray(bias)]))
    print(f"{name}: [{values}]")

# Schedules with 10 steps per epoch, 20 epochs, base rate 0.01: the rate at a few steps.
steps = [0, 5, 10, 37, 100, 150, 199]
schedules = {
    "exponential:0.5": keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5),
    "step:3:0.5": keras.optimizers.schedules.ExponentialDecay(0.01, 30, 0.5, staircase=True),
    "cosine:0": keras.optimizers.schedules.CosineDecay(0.01, 200),
    "cosine:4": keras.optimizers.schedules.CosineDecay(0.0, 160, warmup_target=0.01, warmup_steps=40),
}
for name, schedule in schedules.items():
    values = ", ".join(f"{float(schedule(s)):.9e}" for s in steps)
    print(f"{name} at steps {steps}: [{values}]")

"""Training and inference images per second for each family, on whatever backend and device are present.

    python benchmarks/throughput.py                          # TensorFlow, or the installed backend
    KERAS_BACKEND=jax python benchmarks/throughput.py        # no TensorFlow needed (pip install -e ".[jax]")
    KERAS_BACKEND=torch python benchmarks/throughput.py --batch-sizes 32 64 128 --precision float32 mixed

VGG16 and ResNet50 at 224 px (the CNN at the demo's 64 px), whole network trainable, the
project's own builders (models/registry.py). Batch sizes and precisions are swept; each
point is timed over `--steps` steps after `--warmup` steps (compilation excluded). On a GPU
it prints the achieved FLOP rate as a share of the card's dense bf16 peak, counting
VGG16 at 15.5 GFLOP forward and 3x that (46.5) per trained image, ResNet50 at 4.1 and
12.3. A script, not a test: the figures belong to the machine and backend named on its first line.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

# Forward GFLOP per image at 224 px (multiply-adds x 2); training is about 3x forward.
FORWARD_GFLOP = {"vgg16": 15.5, "resnet50": 4.1}
# Dense bf16 peaks (TFLOP/s) of cards this project may get; others print no share.
BF16_PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0}


def device_name() -> str:
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return f"gpu: {device.device_kind}" if device.platform == "gpu" else f"cpu ({os.cpu_count()} cores)"
    if backend == "torch":
        import torch

        return f"cuda: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else f"cpu ({os.cpu_count()} cores)"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"gpu: {tf.config.experimental.get_device_details(gpus[0]).get('device_name', 'GPU')}" if gpus else f"cpu ({os.cpu_count()} cores)"


def peak_for(name: str) -> float | None:
    return next((peak for card, peak in BF16_PEAK_TFLOPS.items() if card in name), None)


def build(family: str, size: int):  # type: ignore[no-untyped-def]
    from mammosearch.models import build_model
    from mammosearch.spec import AugmentationParams, CnnParams, HeadParams, TrialParams

    params = TrialParams(
        family=family, input_size=size, optimizer="adam", learning_rate=1e-4, batch_size=32, epochs=1,
        augmentation=AugmentationParams(), weights=None,
        cnn=CnnParams(16, 3, 64, 0.3) if family == "cnn" else None,
        head=None if family == "cnn" else HeadParams("gap_dropout", 0.3),
        fine_tune=family != "cnn", unfrozen_layers=10_000 if family != "cnn" else 0,
    )
    return build_model(params, 3 if family != "cnn" else 1)


def measure(family: str, size: int, batch: int, steps: int, warmup: int) -> tuple[float, float]:
    import keras

    model = build(family, size)
    for layer in model.layers:  # the whole network trains: the throughput of fine-tuning everything
        layer.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="binary_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch, size, size, model.input_shape[-1])).astype("float32")
    y = rng.integers(0, 2, (batch, 1)).astype("float32")
    for _ in range(warmup):
        model.train_on_batch(x, y)
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    train = steps * batch / (time.perf_counter() - started)
    for _ in range(warmup):
        model.predict_on_batch(x)
    started = time.perf_counter()
    for _ in range(steps):
        np.asarray(model.predict_on_batch(x))  # to host: the step has finished
    infer = steps * batch / (time.perf_counter() - started)
    keras.backend.clear_session()
    return train, infer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=["cnn", "vgg16", "resnet50"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[16, 32])
    parser.add_argument("--precision", nargs="+", default=["float32", "mixed"], choices=["float32", "mixed"])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    import keras

    from mammosearch import runtime

    device = device_name()
    peak = peak_for(device)
    print(f"keras {keras.__version__} on {keras.backend.backend()}, {device}")
    print(f"{'family':<9}{'px':>5}{'batch':>7}{'precision':>10}{'train img/s':>13}{'infer img/s':>13}{'train TFLOP/s':>15}{'of bf16 peak':>14}")
    for precision in args.precision:
        runtime.configure(precision)
        for family in args.families:
            size = 64 if family == "cnn" else args.size
            for batch in args.batch_sizes:
                train, infer = measure(family, size, batch, args.steps, args.warmup)
                flops = FORWARD_GFLOP.get(family, 0.0) * 3 * (size / 224) ** 2 * train / 1000
                share = f"{flops / peak:.1%}" if peak and flops else "-"
                print(f"{family:<9}{size:>5}{batch:>7}{precision:>10}{train:>13.1f}{infer:>13.1f}{flops:>15.2f}{share:>14}", flush=True)


if __name__ == "__main__":
    main()

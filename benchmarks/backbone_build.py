"""What building a `weights: none` backbone costs: Keras' constructor, the deterministic draw, a copy of it.

    python benchmarks/backbone_build.py                 # vgg16 and resnet50 at 32 px
    python benchmarks/backbone_build.py --families vgg16 resnet50 efficientnetv2-b0 convnext_tiny --size 64

Every fine-tuning trial, activation-cache miss and assembled kept model builds its
family's backbone; ``models/backbones.py`` draws the fixed random weights once per process
and copies them into later builds ("keep a copy" once, "copy in" each later build instead
of "draw"). Prints the median of ``--repeat`` builds of each part,
and the load average (other processes share the CPU: compare the parts, not the seconds).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from mammosearch import runtime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=["vgg16", "resnet50"])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runtime.configure("float32")
    import keras

    from mammosearch.models import family
    from mammosearch.models.build import reinitialize_deterministically

    print(f"cpu cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f}")
    for name in args.families:
        constructor = getattr(keras.applications, family(name).application or "")
        parts: dict[str, list[float]] = {"construct": [], "draw": [], "keep a copy": [], "copy in": []}
        for _ in range(args.repeat):
            keras.backend.clear_session(free_memory=True)
            started = time.perf_counter()
            backbone = constructor(include_top=False, weights=None, input_shape=(args.size, args.size, 3))
            built = time.perf_counter()
            reinitialize_deterministically(backbone)
            drawn = time.perf_counter()
            weights = backbone.get_weights()  # once per process: the cache's own copy
            kept = time.perf_counter()
            backbone.set_weights(weights)  # every later build
            copied = time.perf_counter()
            parts["construct"].append(built - started)
            parts["draw"].append(drawn - built)
            parts["keep a copy"].append(kept - drawn)
            parts["copy in"].append(copied - kept)
        line = ", ".join(f"{part} {statistics.median(values):.2f} s" for part, values in parts.items())
        print(f"{name} at {args.size} px: {line} (median of {args.repeat}; load {os.getloadavg()[0]:.2f})", flush=True)


if __name__ == "__main__":
    main()

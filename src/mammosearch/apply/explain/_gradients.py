"""The one backend-specific piece of Grad-CAM: the gradient of a Keras function's summed output.

Keras 3 runs the same model on TensorFlow, JAX or PyTorch, but each takes gradients its own
way; everything else in ``_gradcam.py`` is backend-neutral ``keras`` and numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mammosearch.errors import ApplyError


def gradient_of_sum(function: Callable[[Any], Any], x: np.ndarray) -> np.ndarray:
    """d(sum of function(x)) / dx, as a float32 numpy array shaped like ``x``."""
    import keras

    backend = keras.backend.backend()
    x = np.asarray(x, dtype="float32")
    if backend == "tensorflow":
        import tensorflow as tf

        tensor = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(tensor)
            total = tf.reduce_sum(function(tensor))
        return np.asarray(tape.gradient(total, tensor))
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        return np.asarray(jax.grad(lambda t: jnp.sum(function(t)))(jnp.asarray(x)))
    if backend == "torch":
        import torch

        tensor = torch.tensor(x, requires_grad=True, device=keras.src.backend.torch.core.get_device())
        function(tensor).sum().backward()
        assert tensor.grad is not None
        return tensor.grad.detach().cpu().numpy()
    raise ApplyError(f"explain needs gradients; the Keras backend {backend!r} is not one of tensorflow, jax, torch")

"""Model families (``registry.py``), heads, freezing and the cached-activation cut.

Builders take typed params and never import optuna. This package's ``__init__`` imports
nothing, so reading the registry does not load Keras.
"""

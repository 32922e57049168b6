"""Using what a search found: ``predict``, ``evaluate`` and ``explain`` on new images.

Every command loads the model through :mod:`~mammosearch.apply.bundle` (an exported
folder, or a study's trial) and feeds it through :func:`~mammosearch.data.prepare.prepare_file`,
the training decode path, so the scores equal the stored ones.
"""

"""The bottom of the package order: what every layer shares and no layer owns.

``fields`` (scalar validators for spaces and data sources) and ``params`` (the parameter
specs that own their bounds, validation and sampling, and the typed ``TrialParams``).
``config`` reads a YAML space into these, ``data`` and ``models`` take them as plain typed
values, so neither imports ``config``, and ``config`` can sit above both.
"""

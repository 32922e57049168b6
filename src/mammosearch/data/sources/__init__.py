"""Data sources: one file each, holding its spec, YAML reader, loader and description (see ../registry.py)."""

"""Prefect flows: a thin layer over :mod:`codeetl.pipeline` (see refresh.py)."""

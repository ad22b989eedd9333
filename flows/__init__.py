"""Prefect flows of codeetl (a thin layer over codeetl.pipeline)."""

"""The pages: what the warehouse knows about one code, DRG or procedure, as plain dicts (JSON-ready)."""

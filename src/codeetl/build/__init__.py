"""Build: parse cache, the DuckDB warehouse (SQL scripts in order), quality gates, parquet export, atomic publish."""

"""Operations: the Prefect flow and its deployments (serve), the refresh worker, the run ledger and status."""

-- The run ledger: one row per `codeetl refresh` (or scheduled flow run), kept OUTSIDE the build folders in
-- data/warehouse/refresh_runs.parquet so it survives every build; codeetl.ledger appends to it atomically.
-- Statements are named (codeetl.named_sql): the ledger's own schema, and the warehouse view over it.

-- name: ledger_table
CREATE TEMP TABLE ledger (
    run_id          VARCHAR NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    status          VARCHAR NOT NULL,
    changed         BOOLEAN,
    releases_added  VARCHAR[],
    error           VARCHAR,
    build_id        VARCHAR,
    datasets        VARCHAR[],
    trigger         VARCHAR,
    changes         VARCHAR
);

-- name: view
-- {ledger} is replaced by the absolute path of data/warehouse/refresh_runs.parquet (a view, so a refresh
-- that changes nothing, and builds nothing, still shows in it; the path is part of the build key, so a
-- moved data folder is rebuilt at its next refresh).
CREATE VIEW refresh_runs AS
SELECT run_id, started_at, finished_at, status, changed, releases_added, error, build_id, datasets, trigger, changes
FROM read_parquet('{ledger}');
COMMENT ON VIEW refresh_runs IS 'Every refresh of this data folder, newest last: when it ran, what it did (published a new build, found nothing changed, failed) and which releases it added. A view over data/warehouse/refresh_runs.parquet, which lives outside the builds and so survives them; a refresh that changed nothing appears here too.';
COMMENT ON COLUMN refresh_runs.run_id IS 'Id of the run (UTC start time and process id; the Prefect flow run id when Prefect ran it).';
COMMENT ON COLUMN refresh_runs.started_at IS 'When the run started (UTC).';
COMMENT ON COLUMN refresh_runs.finished_at IS 'When it ended (UTC); NULL while it runs.';
COMMENT ON COLUMN refresh_runs.status IS 'published (a new build is current), unchanged (no source or code changed: nothing built, the current build kept), failed (the previous build kept; see error), running, or interrupted (killed before it finished).';
COMMENT ON COLUMN refresh_runs.changed IS 'True when the run published a new build; false when nothing changed or it failed.';
COMMENT ON COLUMN refresh_runs.releases_added IS 'Releases the published build holds that the previous one did not, as dataset/release (icd10cm/2027).';
COMMENT ON COLUMN refresh_runs.error IS 'The error message of a failed run (one line); NULL otherwise.';
COMMENT ON COLUMN refresh_runs.build_id IS 'The build current after the run (builds/<build_id>): the new one, or the one kept.';
COMMENT ON COLUMN refresh_runs.datasets IS 'Datasets the run was asked to refresh (--dataset); NULL for all of them.';
COMMENT ON COLUMN refresh_runs.trigger IS 'What started the run: cli (codeetl refresh), or the Prefect deployment name of a scheduled run.';
COMMENT ON COLUMN refresh_runs.changes IS 'What changed, as JSON: per dataset and added release, counts of codes, MS-DRGs and fees added, deleted and changed (see sql/changes.sql); NULL when nothing changed.';

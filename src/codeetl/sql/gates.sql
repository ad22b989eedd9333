-- Quality gates of the whole warehouse (format: see codeetl/gates.py); each dataset's own gates are in
-- codeetl/datasets/<dataset>/gates.sql.

-- gate: warehouse.columns_documented
-- checks: every column of every table and view has a COMMENT (the data dictionary is generated from them)
-- file: none
SELECT table_name AS "table", column_name AS "column" FROM duckdb_columns()
WHERE NOT internal AND schema_name = 'main' AND (comment IS NULL OR comment = '')
ORDER BY 1, 2;

-- gate: warehouse.releases_loaded_have_files
-- checks: every loaded release records at least one source file with its sha256
-- file: none
SELECT r.dataset, r.release FROM (SELECT DISTINCT dataset, release FROM releases) r
WHERE NOT EXISTS (SELECT 1 FROM source_files s WHERE s.dataset = r.dataset AND s.release = r.release)
ORDER BY 1, 2;

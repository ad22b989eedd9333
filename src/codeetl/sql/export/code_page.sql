-- The code_page export of one ICD-10-CM release, put together from its parts (codeetl.build.code_pages): each
-- part is computed once for every code node of the release with the code_page macro's own parts
-- (sql/pages/20_code_page.sql), for the release's first day, and kept by what it is made of. {rid} is bound as
-- a parameter (? or $1); {frame}, {chain_notes}, {icd9}, {ms_drg}, {procedures}, {history} are parquet file paths (SQL
-- literals). Each part file holds one row per code node, sorted by code, so the parts stream side by side; no
-- query hashes a release's wide rows (the sections of the day are three files, not cp_day_sections' join).

-- name: frame
-- In code order without a sort of its wide rows: cp_hierarchy reads the nodes sorted and they stay the probe side
-- of every join (the build runs it with DuckDB's build_side_probe_side optimizer off); `aligned` and
-- `out_of_order` below check the order.
SELECT * FROM cp_frame(?, NULL::DATE, NULL::VARCHAR[])

-- name: chain_notes
SELECT * FROM cp_chain_notes(?, NULL::VARCHAR[])

-- name: icd9
SELECT code, icd9 FROM cp_icd9(?, NULL::DATE, NULL::VARCHAR[]) ORDER BY code

-- name: ms_drg
SELECT code, ms_drg FROM cp_msdrg(?, NULL::DATE, NULL::VARCHAR[]) ORDER BY code

-- name: procedures
SELECT n.code, p.procedures
FROM cp_nodes($1, NULL::VARCHAR[]) n LEFT JOIN cp_procedures($1, NULL::DATE, NULL::VARCHAR[]) p ON p.code = n.code
ORDER BY n.code

-- name: history
SELECT * FROM cp_history(?, NULL::VARCHAR[]) ORDER BY code

-- name: aligned
-- Rows where the parts (each sorted by code, one row per code node) do not line up: must be none.
SELECT count(*)
FROM read_parquet({frame}) f POSITIONAL JOIN read_parquet({icd9}) g POSITIONAL JOIN read_parquet({ms_drg}) d
     POSITIONAL JOIN read_parquet({procedures}) p POSITIONAL JOIN read_parquet({history}) hs
WHERE f.code IS DISTINCT FROM g.code OR f.code IS DISTINCT FROM d.code OR f.code IS DISTINCT FROM p.code
   OR f.code IS DISTINCT FROM hs.code

-- name: assemble
-- As code_page puts the parts together; the parts side by side in code order (a positional join: streamed,
-- no sort), the notes looked up by chain in a hash table of the release's distinct chains.
SELECT f.* REPLACE (coalesce(cn.notes, []) AS notes, g.icd9 AS icd9, d.ms_drg AS ms_drg,
                    p.procedures AS procedures, hs.history AS history)
FROM read_parquet({frame}) f POSITIONAL JOIN read_parquet({icd9}) g POSITIONAL JOIN read_parquet({ms_drg}) d
     POSITIONAL JOIN read_parquet({procedures}) p POSITIONAL JOIN read_parquet({history}) hs
LEFT JOIN read_parquet({chain_notes}) cn ON cn.chain = f.notes

-- name: out_of_order
-- Rows of the written file that come before the row above them in code order: must be none.
SELECT count(*) FROM (SELECT code < lag(code) OVER (ORDER BY file_row_number) AS back
                      FROM read_parquet({target}, file_row_number = true)) WHERE back

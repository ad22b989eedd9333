-- The code_page export of one ICD-10-CM release, put together from its parts (codeetl.build.code_pages): each
-- part is computed once for every code node of the release with the code_page macro's own parts
-- (sql/pages/20_code_page.sql), for the release's first day, and kept by what it is made of. {rid} is bound as
-- a parameter (?); {frame}, {chain_notes}, {day}, {history} are parquet file paths (SQL literals).

-- name: frame
SELECT * FROM cp_frame(?, NULL::DATE, NULL::VARCHAR[]) ORDER BY code

-- name: chain_notes
SELECT * FROM cp_chain_notes(?, NULL::VARCHAR[])

-- name: day
SELECT * FROM cp_day_sections(?, NULL::DATE, NULL::VARCHAR[]) ORDER BY code

-- name: history
SELECT * FROM cp_history(?, NULL::VARCHAR[]) ORDER BY code

-- name: aligned
-- Rows where the parts (each sorted by code, one row per code node) do not line up: must be none.
SELECT count(*) FROM read_parquet({frame}) f POSITIONAL JOIN read_parquet({day}) ds POSITIONAL JOIN read_parquet({history}) hs
WHERE f.code IS DISTINCT FROM ds.code OR f.code IS DISTINCT FROM hs.code

-- name: assemble
-- As code_page puts the parts together; the parts side by side in code order (a positional join: streamed,
-- no sort), the notes looked up by chain in a hash table of the release's distinct chains.
SELECT f.* REPLACE (coalesce(cn.notes, []) AS notes, ds.icd9 AS icd9, ds.ms_drg AS ms_drg,
                    ds.procedures AS procedures, hs.history AS history)
FROM read_parquet({frame}) f POSITIONAL JOIN read_parquet({day}) ds POSITIONAL JOIN read_parquet({history}) hs
LEFT JOIN read_parquet({chain_notes}) cn ON cn.chain = f.notes

-- name: out_of_order
-- Rows of the written file that come before the row above them in code order: must be none.
SELECT count(*) FROM (SELECT code < lag(code) OVER (ORDER BY file_row_number) AS back
                      FROM read_parquet({target}, file_row_number = true)) WHERE back

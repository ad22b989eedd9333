-- The reasons of `codeetl validate`, computed once at build time for every code a claim can hold that the
-- loaded releases know, into table claim_icd10cm_reason (sql/contract/claims.sql), so that any engine
-- reads them from the exported file instead of recomputing them (codeetl.build.claim_contract runs this).
-- `cells` stands in for the claims: every candidate key on the first day of every loaded release; then the
-- statements periods, billable, (no_)replacements, bad, keys, below and reasons of validate.sql run as they
-- are, and `export` keeps what they found.

-- name: cells
-- Candidate keys: every code of the history, and every prefix of 3 to 6 characters of a billable code (a
-- release loaded from a code file only lists no headers: there a prefix of billable codes is a header code).
CREATE OR REPLACE TEMP VIEW v_cells AS
WITH k AS (
    SELECT code_nodot AS key FROM icd10cm_code_history
    UNION
    SELECT left(h.code_nodot, n.n) FROM icd10cm_code_history AS h, range(3, 7) AS n(n)
    WHERE h.is_billable AND length(h.code_nodot) > n.n
)
SELECT 0 AS row_number, '' AS column_name, k.key AS code, CAST(p.period_from AS VARCHAR) AS raw_date,
       k.key, p.period_from AS day
FROM k CROSS JOIN icd10cm_history_releases AS p;

-- name: export
INSERT INTO claim_icd10cm_reason
SELECT key, release, reason, details FROM v_reasons ORDER BY key, release;

-- name: cleanup
DROP VIEW v_cells;

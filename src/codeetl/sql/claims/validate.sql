-- `codeetl validate`, written once for every engine: DuckDB and Spark SQL run this text as it is (a portable
-- subset: UNPIVOT, ANTI JOIN, TRY_CAST, CAST(... AS STRING), identifiers in double quotes — Spark runs with
-- spark.sql.ansi.doubleQuotedIdentifiers — and the /*+ BROADCAST */ hint, a comment to DuckDB). The engine
-- adapters (codeetl.claims.validate, codeetl.spark.engine) only create the input views and write the output:
--   claim_source   one row per data row of the claims: "__row" (1 = the first data row; over several files,
--                  in order of their paths), "__date" (the date column as text: a DATE column as YYYY-MM-DD),
--                  and each code column as text under its own name;
--   claim_icd10cm_interval, claim_icd10cm_coverage, claim_icd10cm_reason   the exported contract files
--                  (sql/contract/claims.sql).
-- Python fills {placeholders}: {code_columns} the quoted code columns, {nonempty} one 0/1 term per column,
-- {key:<expr>} / {day:<expr>} the rules `key` and `day` below applied to an expression.
--
-- Reasons for a code not valid on its day, in this order:
--   missing date        the date cell is empty;
--   unreadable date     it is not a date written YYYY-MM-DD (nor a DATE value);
--   no release loaded for the date   the day is not covered (claim_icd10cm_coverage: day_covered, the one rule);
--   then the reason of (code, release of the day) from claim_icd10cm_reason (header code, deleted, not yet
--   valid; computed at build time by sql/history/validate.sql, which describes them), else unknown code.

-- name: key
-- A code as written -> the join key code_nodot: dots and spaces removed, upper case (' m96.1' -> M961).
upper(replace(replace(trim({x}), '.', ''), ' ', ''))

-- name: day
-- A date as written -> DATE: exactly YYYY-MM-DD (as codes.ISO_DATE_PATTERN), a real calendar day from
-- 0001-01-01 to 9999-12-31; else NULL. Both engines' own casts accept more (2026-4-1, +2026-04-01, a time
-- after the day), so the text must have the shape, lie between the first and the last day as text, and come
-- back unchanged from the DATE it casts to (both engines print a DATE as YYYY-MM-DD). (LIKE and comparisons:
-- DuckDB's translate() would cost 9 s per 10 million rows.)
CASE WHEN {x} LIKE '____-__-__' AND {x} BETWEEN '0001-01-01' AND '9999-12-31'
          AND CAST(TRY_CAST({x} AS DATE) AS STRING) = {x}
     THEN TRY_CAST({x} AS DATE) END

-- name: cells
-- One row per non-empty code cell (the date read once per row, before the row becomes cells).
SELECT "__row" AS row_number, column_name, code, raw_date, {key:code} AS key, day
FROM (
    SELECT "__row", raw_date, day, column_name, code
    FROM (
        SELECT "__row", raw_date, {day:raw_date} AS day, {code_columns}
        FROM (SELECT "__row", nullif(trim("__date"), '') AS raw_date, {code_columns} FROM claim_source) AS s
    ) AS d
    UNPIVOT INCLUDE NULLS (code FOR column_name IN ({code_columns})) AS u
) AS c
WHERE trim(code) <> ''

-- name: counts
SELECT count(*) AS n_rows, coalesce(sum({nonempty}), 0) AS n_codes FROM claim_source

-- name: bad
-- The one pass over the cells: each code not valid on its day (a hash join on the code, the day checked
-- against the span's dates). An engine keeps these (DuckDB: a TEMP table, spilled past its memory limit).
SELECT /*+ BROADCAST(h) */ c.row_number, c.column_name, c.code, c.raw_date, c.key, c.day
FROM claim_cells AS c
ANTI JOIN claim_icd10cm_interval AS h
  ON h.code_nodot = c.key AND h.is_billable AND c.day BETWEEN h.valid_from AND h.valid_to

-- name: invalid
-- The bad cells explained (a view: read by the summary, then streamed to the output in file order).
SELECT /*+ BROADCAST(g, r) */
    b.row_number,
    b.column_name AS "column",
    b.code,
    b.raw_date AS "date",
    CASE WHEN b.raw_date IS NULL THEN 'missing date'
         WHEN b.day IS NULL THEN 'unreadable date'
         WHEN NOT g.covered THEN 'no release loaded for the date'
         ELSE coalesce(r.reason, 'unknown code') END AS reason,
    CASE WHEN b.raw_date IS NULL THEN 'the date of service is empty'
         WHEN b.day IS NULL THEN 'expected a date as YYYY-MM-DD, got ''' || b.raw_date || ''''
         WHEN NOT g.covered THEN 'no ICD-10-CM release loaded covers ' || CAST(b.day AS STRING) || g.gap_note
         ELSE coalesce(r.details, 'not an ICD-10-CM code in any loaded release') END AS details
FROM claim_bad AS b
LEFT JOIN claim_icd10cm_coverage AS g ON b.day BETWEEN g.valid_from AND g.valid_to
LEFT JOIN claim_icd10cm_reason AS r ON r.code_nodot = b.key AND r.release = g.release

-- name: report
-- What is written: the invalid cells in file order.
SELECT row_number, "column", code, "date", reason, details FROM claim_invalid ORDER BY row_number, "column"

-- name: summary
SELECT reason, count(*) AS codes, count(DISTINCT row_number) AS n_rows
FROM claim_invalid
GROUP BY reason
ORDER BY codes DESC, reason

-- name: invalid_rows
SELECT count(DISTINCT row_number) AS n FROM claim_invalid

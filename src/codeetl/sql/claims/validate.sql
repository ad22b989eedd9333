-- `codeetl validate`, written once for every engine: DuckDB and Spark SQL run this text as it is (a portable
-- subset: UNPIVOT, ANTI JOIN, TRY_CAST, CAST(... AS STRING), identifiers in double quotes — Spark runs with
-- spark.sql.ansi.doubleQuotedIdentifiers — and the /*+ BROADCAST */ hint, a comment to DuckDB). The engine
-- adapters (codeetl.claims.validate, codeetl.spark.engine) only create the input views and write the output:
--   claim_source   one row per data row of the claims: "__row" (1 = the first data row; over several files,
--                  in order of their paths), "__date" (the date column as text: a DATE column as YYYY-MM-DD),
--                  "__day" (its day: the rule `day` below on "__date" trimmed, empty as NULL; a DATE column
--                  as it is, NULL outside 0001-01-01..9999-12-31; codeetl.claims.contract.day_value), and
--                  each code column as text under its own name;
--   claim_icd10cm_interval, claim_icd10cm_coverage, claim_icd10cm_reason   the exported contract files
--                  (sql/contract/claims.sql).
-- Python fills {placeholders}: {code_columns} the quoted code columns, {nonempty} one 0/1 term per column,
-- {count_cells} count(column) per column, {cells} the cells (`column_cells` or `cells_unpivot`),
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

-- name: column_cells
-- The cells of one code column ({column}, named {name}) that are not NULL, as written, with their row's date
-- (as text and as its day). Cells are taken column by column (parquet reads a column on its own) or, for a
-- text file parsed once, by UNPIVOT (`cells_unpivot`); Python joins them ({cells}).
SELECT "__row" AS row_number, {name} AS column_name, {column} AS code, "__date" AS raw_date, "__day" AS day
FROM claim_source
WHERE {column} IS NOT NULL

-- name: cells_unpivot
SELECT "__row" AS row_number, column_name, code, "__date" AS raw_date, "__day" AS day
FROM (SELECT "__row", "__date", "__day", {code_columns} FROM claim_source) AS s
UNPIVOT (code FOR column_name IN ({code_columns})) AS u

-- name: written
-- Each billable span under both ways CMS writes its code: with the dot (M96.1) and without it (M961).
SELECT code AS written, valid_from, valid_to FROM claim_icd10cm_interval WHERE is_billable
UNION ALL
SELECT code_nodot, valid_from, valid_to FROM claim_icd10cm_interval WHERE is_billable AND code_nodot <> code

-- name: left_over
-- The one pass over the input, with the codes as written, as nearly all are (M96.1 or M961): a cell whose code
-- is written so and valid on its day is valid (its `key` is that code's code_nodot), and the pass does no
-- string work per cell (a hash join on the code, the day checked against the span's dates). The cells left
-- over (the invalid ones, and the valid ones written otherwise: lowercase, spaced, blank) are few; `bad`
-- checks them again, normalised. An engine keeps them (DuckDB: a TEMP table, spilled past its memory limit).
SELECT /*+ BROADCAST(h) */ c.row_number, c.column_name, c.code, c.raw_date, c.day
FROM ({cells}) AS c
ANTI JOIN claim_icd10cm_written AS h ON h.written = c.code AND c.day BETWEEN h.valid_from AND h.valid_to

-- name: counts
-- The data rows and the non-empty code cells (annotate: its own pass).
SELECT count(*) AS n_rows, coalesce(sum({nonempty}), 0) AS n_codes FROM claim_source

-- name: cell_counts
-- The data rows and the non-empty code cells, as `counts` gives them without string work on every cell: the
-- cells that are not NULL less the blank ones (only spaces), which the first pass leaves over.
SELECT n_rows, n_cells - (SELECT count(*) FROM claim_left_over WHERE trim(code) = '') AS n_codes
FROM (SELECT count(*) AS n_rows, {count_cells} AS n_cells FROM claim_source) AS s

-- name: bad
-- Each code not valid on its day: the cells left over, blank ones dropped, normalised (`key`), checked against
-- the valid spans.
SELECT /*+ BROADCAST(h) */ c.row_number, c.column_name, c.code, c.raw_date, c.key, c.day
FROM (
    SELECT row_number, column_name, code, nullif(trim(raw_date), '') AS raw_date, {key:code} AS key, day
    FROM claim_left_over
    WHERE trim(code) <> ''
) AS c
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

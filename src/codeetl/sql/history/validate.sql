-- The reasons of `codeetl validate`: why a dated ICD-10-CM code is not billable, from icd10cm_code_history.
-- Run statement by statement (each starts with a `-- name:` line) by codeetl.build.claim_contract at build
-- time, over every code and prefix the loaded releases know on the first day of every release
-- (history/validate_export.sql makes v_cells for it): what `reasons` finds becomes table
-- claim_icd10cm_reason, which every engine reads (sql/claims/validate.sql adds the reasons of the date:
-- unreadable date, no release loaded for the date). Everything created here is TEMP. v_cells(row_number,
-- column_name, code, raw_date, key, day): one row per code cell, key = the code without dots and spaces in
-- upper case, day = the date read as DATE. Reason precedence for a code not billable in the release of its
-- day: header code, deleted, not yet valid, unknown code. A reason must depend only on the code and the
-- release of the day (it is computed once per pair).

-- name: periods
CREATE TEMP TABLE v_periods AS
SELECT release, period_from, coalesce(period_to, DATE '9999-12-31') AS period_to, has_headers
FROM icd10cm_history_releases;

-- name: billable
CREATE TEMP TABLE v_billable AS
SELECT code_nodot, code, valid_from, coalesce(valid_to, DATE '9999-12-31') AS valid_to
FROM icd10cm_code_history
WHERE is_billable;

-- name: replacements
CREATE TEMP TABLE v_replacements AS
SELECT icd10cm_nodot(r.code) AS key, string_agg(DISTINCT r.replaced_by, ', ' ORDER BY r.replaced_by) AS replaced_by
FROM icd10cm_replacements AS r
GROUP BY 1;

-- name: no_replacements
CREATE TEMP TABLE v_replacements (key VARCHAR, replaced_by VARCHAR);

-- name: bad
-- The one pass over the input: every code cell not billable on its day. An explicit ANTI JOIN (a hash join
-- on the code, the date range checked per match) streams about twice as fast as NOT EXISTS here.
CREATE TEMP TABLE v_bad AS
SELECT c.row_number, c.column_name, c.code, c.raw_date, c.key, c.day
FROM v_cells AS c
ANTI JOIN v_billable AS h ON h.code_nodot = c.key AND c.day BETWEEN h.valid_from AND h.valid_to;

-- name: keys
-- Each distinct (code, release of the day) among the bad cells, with what the history says about it.
CREATE TEMP TABLE v_keys AS
WITH k AS (
    SELECT DISTINCT b.key, p.release, p.period_from, p.period_to, p.has_headers
    FROM v_bad AS b
    JOIN v_periods AS p ON b.day BETWEEN p.period_from AND p.period_to
)
SELECT
    k.*,
    (SELECT any_value(h.last_release) FROM icd10cm_code_history AS h
      WHERE h.code_nodot = k.key AND NOT h.is_billable
        AND h.valid_from <= k.period_from AND coalesce(h.valid_to, DATE '9999-12-31') >= k.period_from) AS header_in,
    (SELECT max(h.valid_to) FROM icd10cm_code_history AS h
      WHERE h.code_nodot = k.key AND h.valid_to < k.period_from)                                       AS valid_until,
    (SELECT arg_max(h.last_release, h.valid_to) FROM icd10cm_code_history AS h
      WHERE h.code_nodot = k.key AND h.valid_to < k.period_from)                                       AS last_release,
    (SELECT min(h.valid_from) FROM icd10cm_code_history AS h
      WHERE h.code_nodot = k.key AND h.valid_from > k.period_to)                                       AS valid_from,
    (SELECT arg_min(h.first_release, h.valid_from) FROM icd10cm_code_history AS h
      WHERE h.code_nodot = k.key AND h.valid_from > k.period_to)                                       AS first_release
FROM k;

-- name: below
-- The billable codes below each header-like key on its release's first day (the key is a proper prefix of
-- code_nodot, 3 characters or more): a header's billable children, also for releases that list no headers
-- (code file only). Joined on the prefixes of each billable code (an equi-join: fast for the hundreds of
-- thousands of keys of the build's claim_icd10cm_reason, where a join on starts_with compares every pair).
CREATE TEMP TABLE v_below AS
SELECT k.key, k.release, count(*) AS n, list(h.code ORDER BY h.code)[1:8] AS first_codes
FROM v_keys AS k
JOIN (SELECT b.*, left(b.code_nodot, n.n) AS prefix
      FROM v_billable AS b, range(3, length(b.code_nodot)) AS n(n)) AS h
  ON h.prefix = k.key AND k.period_from BETWEEN h.valid_from AND h.valid_to
WHERE k.header_in IS NOT NULL OR NOT k.has_headers
GROUP BY ALL;

-- name: reasons
CREATE TEMP TABLE v_reasons AS
SELECT
    k.key, k.release,
    CASE WHEN k.header_in IS NOT NULL OR (NOT k.has_headers AND w.n IS NOT NULL) THEN 'header code'
         WHEN k.valid_until IS NOT NULL THEN 'deleted'
         WHEN k.valid_from IS NOT NULL THEN 'not yet valid'
         ELSE 'unknown code' END AS reason,
    CASE WHEN k.header_in IS NOT NULL OR (NOT k.has_headers AND w.n IS NOT NULL) THEN
             CASE WHEN k.header_in IS NOT NULL THEN 'a header in release ' || k.release
                  ELSE 'release ' || k.release || ' lists billable codes only; the code is a prefix of them' END
             || CASE WHEN w.n IS NULL THEN '; no billable code below it'
                     ELSE '; ' || w.n || ' billable code' || CASE WHEN w.n > 1 THEN 's' ELSE '' END || ' below it: '
                          || array_to_string(w.first_codes, ', ') || CASE WHEN w.n > 8 THEN ', ...' ELSE '' END END
         WHEN k.valid_until IS NOT NULL THEN
             'valid until ' || k.valid_until || ' (last in release ' || k.last_release || ')'
             || coalesce('; replaced by ' || r.replaced_by, '')
         WHEN k.valid_from IS NOT NULL THEN 'valid from ' || k.valid_from || ' (release ' || k.first_release || ')'
         ELSE 'not an ICD-10-CM code in any loaded release' END AS details
FROM v_keys AS k
LEFT JOIN v_below AS w ON w.key = k.key AND w.release = k.release
LEFT JOIN v_replacements AS r ON r.key = k.key;

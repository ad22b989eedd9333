-- `codeetl validate`: dated ICD-10-CM codes of a claims file checked against icd10cm_code_history.
-- Run by codeetl.claims.validate, statement by statement (each starts with a `-- name:` line), on a read-only
-- connection to the warehouse: everything created here is TEMP. Before these, codeetl.claims.validate creates
-- the view v_cells(row_number, column_name, code, date_cell, day) over the input file: one row per code cell
-- that is not NULL (blank ones left out below), the code as written, the date cell as read and the day it gives; and the macros claim_key(code)
-- (the code without dots and spaces in upper case) and claim_day(raw_date) (the date text read as DATE; NULL
-- when empty or unreadable).
--
-- Reasons for a code not valid on its day, in this order:
--   missing date        the date cell is empty;
--   unreadable date     it is not a date;
--   no release loaded for the date   no loaded ICD-10-CM release covers the day (day_covered, the one rule of
--                       sql/releases.sql: a release between two loaded ones not loaded, or a day outside them);
--   header code         the code is a header on that day (with the valid codes below it then), or a code that
--                       is a header in the loaded releases and never a valid code ("not valid on any loaded day");
--   deleted             it was valid before the day (until when: the last loaded release listing it, or the
--                       CDC conversion table's replacement date);
--   not yet valid       it is valid after the day (from when: the release that introduced it, or the
--                       conversion table);
--   unknown code        not an ICD-10-CM code of any loaded release.

-- name: periods
CREATE TEMP TABLE v_periods AS
SELECT release, period_from, coalesce(period_to, DATE '9999-12-31') AS period_to, has_headers
FROM icd10cm_history_releases;

-- name: billable
-- The days each code is valid: its valid spans without their unknown days (days no loaded release covers).
CREATE TEMP TABLE v_billable AS
SELECT code_nodot, code, valid_from, valid_to
FROM (
    SELECT h.code_nodot, h.code,
           unnest(list_concat([h.valid_from], list_transform(h.unknown_days, lambda u: u."to" + 1))) AS valid_from,
           unnest(list_concat(list_transform(h.unknown_days, lambda u: u."from" - 1),
                              [coalesce(h.valid_to, DATE '9999-12-31')])) AS valid_to
    FROM icd10cm_code_history AS h
    WHERE h.is_billable
)
WHERE valid_from <= valid_to;

-- name: replacements
CREATE TEMP TABLE v_replacements AS
SELECT icd10cm_nodot(r.code) AS key,
       string_agg(DISTINCT r.replaced_by, ', ' ORDER BY r.replaced_by) AS replaced_by,
       min(r.effective) AS effective
FROM icd10cm_replacements AS r
WHERE NOT r.is_range
GROUP BY 1;

-- name: no_replacements
CREATE TEMP TABLE v_replacements (key VARCHAR, replaced_by VARCHAR, effective DATE);

-- name: written
-- Each valid span under both ways CMS writes its code: with the dot (M96.1) and without (M961).
CREATE TEMP TABLE v_written AS
SELECT code AS written, valid_from, valid_to FROM v_billable
UNION ALL
SELECT code_nodot, valid_from, valid_to FROM v_billable WHERE code_nodot <> code;

-- name: left_over
-- The one pass over the input, with the codes as written, as most are (M96.1 or M961): a cell whose code is
-- written so and valid on its day is valid (its normalised code is the same code), and the pass does no string
-- work per cell. The cells left (a few, blank ones included) are checked again below. An explicit ANTI JOIN (a
-- hash join on the code, the date range checked per match) streams about twice as fast as NOT EXISTS here.
CREATE TEMP TABLE v_left_over AS
SELECT c.row_number, c.column_name, c.code, trim(CAST(c.date_cell AS VARCHAR)) AS raw_date
FROM v_cells AS c
ANTI JOIN v_written AS h ON h.written = c.code AND c.day BETWEEN h.valid_from AND h.valid_to;

-- name: blank
-- The code cells holding only spaces: not codes (the summary's count of codes leaves them out).
SELECT count(*) FROM v_left_over WHERE trim(code) = '';

-- name: bad
-- Every code cell not valid on its day: the cells left over, normalised (claim_key; claim_day on the date as
-- text), checked against the valid spans.
CREATE TEMP TABLE v_bad AS
WITH normalised AS (
    SELECT row_number, column_name, code, raw_date, claim_key(code) AS key, claim_day(raw_date) AS day
    FROM v_left_over
    WHERE trim(code) <> ''
)
SELECT n.row_number, n.column_name, n.code, n.raw_date, n.key, n.day
FROM normalised AS n
ANTI JOIN v_billable AS h ON h.code_nodot = n.key AND n.day BETWEEN h.valid_from AND h.valid_to;

-- name: days
-- Each distinct day of the bad cells: covered or not (the one rule), and the loaded releases around it.
CREATE TEMP TABLE v_days AS
SELECT d.day, day_covered('icd10cm', d.day) AS covered,
       (SELECT arg_max(p.release || ' (to ' || p.period_to || ')', p.period_from) FROM v_periods AS p WHERE p.period_to < d.day) AS before,
       (SELECT arg_min(p.release || ' (from ' || p.period_from || ')', p.period_from) FROM v_periods AS p WHERE p.period_from > d.day) AS after
FROM (SELECT DISTINCT b.day FROM v_bad AS b WHERE b.day IS NOT NULL) AS d;

-- name: keys
-- Each distinct (code, release of the day) among the bad cells on covered days, with what the history says.
CREATE TEMP TABLE v_keys AS
WITH k AS (
    SELECT DISTINCT b.key, p.release, p.period_from, p.period_to, p.has_headers
    FROM v_bad AS b
    JOIN v_days AS d ON d.day = b.day AND d.covered
    JOIN v_periods AS p ON b.day BETWEEN p.period_from AND p.period_to
), h AS (
    SELECT * FROM icd10cm_code_history WHERE code_nodot IN (SELECT key FROM k)
)
SELECT
    k.*,
    (SELECT any_value(h.last_release) FROM h
      WHERE h.code_nodot = k.key AND NOT h.is_billable
        AND h.valid_from <= k.period_from AND coalesce(h.valid_to, DATE '9999-12-31') >= k.period_from) AS header_in,
    (SELECT arg_min(h.valid_from::VARCHAR || ' (' || CASE WHEN h.valid_from_source = 'conversion table'
                                                            THEN 'CDC conversion table'
                                                            ELSE 'release ' || h.first_release END || ')', h.valid_from)
       FROM h WHERE h.code_nodot = k.key AND NOT h.is_billable)                                       AS header_from,
    NOT EXISTS (SELECT 1 FROM h WHERE h.code_nodot = k.key AND h.is_billable)                        AS never_valid,
    (SELECT arg_max(h, h.valid_to) FROM h
      WHERE h.code_nodot = k.key AND h.is_billable AND h.valid_to < k.period_from)                   AS before_span,
    (SELECT arg_min(h, h.valid_from) FROM h
      WHERE h.code_nodot = k.key AND h.is_billable AND h.valid_from > k.period_to)                   AS after_span
FROM k;

-- name: below
-- The valid codes below each header-like key on its release's first day (prefix of code_nodot): a header's
-- valid codes, also for releases that list no headers (code file only).
CREATE TEMP TABLE v_below AS
SELECT k.key, k.release, count(*) AS n, list(h.code ORDER BY h.code)[1:8] AS first_codes
FROM v_keys AS k
JOIN v_billable AS h
  ON length(k.key) >= 3 AND h.code_nodot > k.key AND starts_with(h.code_nodot, k.key)
 AND k.period_from BETWEEN h.valid_from AND h.valid_to
WHERE k.header_in IS NOT NULL OR k.never_valid OR NOT k.has_headers
GROUP BY ALL;

-- name: reasons
CREATE TEMP TABLE v_reasons AS
SELECT
    k.key, k.release,
    CASE WHEN k.header_in IS NOT NULL OR (k.never_valid AND k.header_from IS NOT NULL)
              OR (NOT k.has_headers AND w.n IS NOT NULL) THEN 'header code'
         WHEN k.before_span IS NOT NULL THEN 'deleted'
         WHEN k.after_span IS NOT NULL THEN 'not yet valid'
         ELSE 'unknown code' END AS reason,
    CASE WHEN k.header_in IS NOT NULL OR (k.never_valid AND k.header_from IS NOT NULL)
              OR (NOT k.has_headers AND w.n IS NOT NULL) THEN
             CASE WHEN k.header_in IS NOT NULL AND k.has_headers THEN 'a header in release ' || k.release
                  WHEN k.header_in IS NOT NULL OR w.n IS NOT NULL
                  THEN 'release ' || k.release || ' lists billable codes only; the code is a prefix of them'
                  ELSE 'not valid on any loaded day: a header from ' || k.header_from END
             || CASE WHEN k.header_in IS NULL AND w.n IS NULL THEN ''
                     WHEN w.n IS NULL THEN '; no billable code below it on ' || k.period_from
                     ELSE '; ' || w.n || ' billable code' || CASE WHEN w.n > 1 THEN 's' ELSE '' END || ' below it: '
                          || array_to_string(w.first_codes, ', ') || CASE WHEN w.n > 8 THEN ', ...' ELSE '' END END
         WHEN k.before_span IS NOT NULL THEN
             CASE k.before_span.valid_to_source
                  WHEN 'before gap' THEN 'valid until ' || k.before_span.valid_to || ' at least (last in release '
                       || k.before_span.last_release || '; no release loaded from ' || (k.before_span.valid_to + 1) || ')'
                  WHEN 'conversion table' THEN 'valid until ' || k.before_span.valid_to || ' (CDC conversion table; last listed in release '
                       || k.before_span.last_release || ')'
                  ELSE 'valid until ' || k.before_span.valid_to || ' (last in release ' || k.before_span.last_release || ')' END
             || coalesce('; replaced by ' || r.replaced_by || ' on ' || r.effective, '')
         WHEN k.after_span IS NOT NULL THEN
             CASE k.after_span.valid_from_source
                  WHEN 'after gap' THEN 'valid from ' || k.after_span.valid_from || ' at the latest (release '
                       || k.after_span.first_release || '; no release loaded before it until ' || (k.after_span.valid_from - 1) || ')'
                  WHEN 'conversion table' THEN 'valid from ' || k.after_span.valid_from || ' (CDC conversion table; first listed in release '
                       || k.after_span.first_release || ')'
                  ELSE 'valid from ' || k.after_span.valid_from || ' (release ' || k.after_span.first_release || ')' END
         ELSE 'not an ICD-10-CM code in any loaded release' END AS details
FROM v_keys AS k
LEFT JOIN v_below AS w ON w.key = k.key AND w.release = k.release
LEFT JOIN v_replacements AS r ON r.key = k.key;

-- name: invalid
CREATE TEMP VIEW v_invalid AS
SELECT
    b.row_number,
    b.column_name AS "column",
    b.code,
    b.raw_date AS date,
    CASE WHEN coalesce(b.raw_date, '') = '' THEN 'missing date'
         WHEN b.day IS NULL THEN 'unreadable date'
         WHEN NOT d.covered THEN 'no release loaded for the date'
         ELSE r.reason END AS reason,
    CASE WHEN coalesce(b.raw_date, '') = '' THEN 'the date of service is empty'
         WHEN b.day IS NULL THEN 'expected a date as YYYY-MM-DD, got ''' || b.raw_date || ''''
         WHEN NOT d.covered THEN 'no ICD-10-CM release loaded covers ' || b.day
              || CASE WHEN d.before IS NOT NULL AND d.after IS NOT NULL
                      THEN ': it falls between release ' || d.before || ' and release ' || d.after
                      WHEN d.before IS NOT NULL THEN ': the latest loaded is release ' || d.before
                      ELSE ': the earliest loaded is release ' || d.after END
         ELSE r.details END AS details
FROM v_bad AS b
LEFT JOIN v_days AS d ON d.day = b.day
LEFT JOIN v_periods AS p ON d.covered AND b.day BETWEEN p.period_from AND p.period_to
LEFT JOIN v_reasons AS r ON r.key = b.key AND r.release = p.release;

-- name: summary
SELECT reason, count(*) AS codes, count(DISTINCT row_number) AS rows
FROM v_invalid
GROUP BY reason
ORDER BY codes DESC, reason;

-- Validating dated ICD-10-CM codes against icd10cm_code_history (tables_history.sql, derive_history.sql).

-- icd10cm_nodot(code): a code as written in a claim, to compare with code_nodot: dots and spaces removed,
-- upper case ('m96.1 ' -> 'M961'); NULL for NULL or an empty cell.
CREATE OR REPLACE MACRO icd10cm_nodot(code) AS
nullif(upper(replace(replace(trim(code), '.', ''), ' ', '')), '');

COMMENT ON MACRO icd10cm_nodot IS 'icd10cm_nodot(code): the code without dots and spaces, upper case (m96.1 -> M961), as icd10cm_code_history.code_nodot holds it; NULL for NULL or empty text.';

-- icd10cm_valid_on(code, day): is `code` a billable ICD-10-CM code on `day`?
--   true   billable on that day (a billable span of icd10cm_code_history covers it);
--   false  a loaded release covers the day and the code is not billable in it (unknown, header, not yet
--          valid or deleted: `codeetl validate` says which);
--   NULL   code or day is NULL, or no loaded release covers the day (day_covered, sql/releases.sql: e.g.
--          a day of 2024-04 when that release is not loaded, although the code is valid on both sides).
-- Written as scalar subqueries over the two tables (no CTE) so that DuckDB decorrelates it when applied to
-- the columns of a claims table; the parameter `day` hides no column (every column is qualified).
CREATE OR REPLACE MACRO icd10cm_valid_on(code, day) AS
CASE
    WHEN icd10cm_nodot(code) IS NULL OR day IS NULL THEN NULL
    WHEN NOT day_covered('icd10cm', day) THEN NULL  -- the one rule (sql/releases.sql)
    ELSE EXISTS (SELECT 1 FROM icd10cm_code_history AS h
                 WHERE h.code_nodot = icd10cm_nodot(code) AND h.is_billable
                   AND h.valid_from <= day AND (h.valid_to IS NULL OR day <= h.valid_to))
END;

COMMENT ON MACRO icd10cm_valid_on IS 'icd10cm_valid_on(code, date): true when code (dotted or not, any case) is a billable ICD-10-CM code on that date (icd10cm_code_history); false when a loaded release covers the date and the code is not billable in it; NULL for NULL input or a date no loaded release covers (day_covered).';

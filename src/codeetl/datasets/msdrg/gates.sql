-- Quality gates of the MS-DRG Definitions Manual tables (format: see codeetl/gates.py).
-- An MS-DRG release id is its grouper version (v43), the `version` column of the msdrg_* tables.

-- gate: msdrg.files_not_empty
-- checks: Appendix A gave MS-DRGs and Appendix B gave diagnoses with their MS-DRGs (a file holding only its header fails)
-- file: appendix_a, appendix_b
WITH f AS (SELECT DISTINCT release, role, file_name FROM source_files WHERE dataset = 'msdrg')
SELECT f.release, f.role, f.file_name FROM f
WHERE (f.role = 'appendix_a' AND NOT EXISTS (SELECT 1 FROM msdrg_drg_def d WHERE d.version = f.release))
   OR (f.role = 'appendix_b' AND (NOT EXISTS (SELECT 1 FROM msdrg_dx_drg d WHERE d.version = f.release)
                               OR NOT EXISTS (SELECT 1 FROM msdrg_dx d WHERE d.version = f.release)))
ORDER BY 1, 2;

-- gate: msdrg.unique_keys
-- checks: one row per (version, dx, mdc, drg) in msdrg_dx_drg and per (version, dx) in msdrg_dx (their keys: the tables have no PRIMARY KEY index, which cost 4 s of every load; e.g. a version loaded twice)
-- file: appendix_b
SELECT 'msdrg_dx_drg' AS "table", version AS release, dx, mdc || ' ' || drg AS "key", count(*) AS "rows" FROM msdrg_dx_drg GROUP BY ALL HAVING count(*) > 1
UNION ALL SELECT 'msdrg_dx', version, dx, NULL, count(*) FROM msdrg_dx GROUP BY ALL HAVING count(*) > 1
ORDER BY 2, 3, 4;

-- gate: msdrg.dx_drg_is_defined
-- checks: every MS-DRG a diagnosis leads to (Appendix B) is an MS-DRG of Appendix A of the same version
-- file: appendix_b
SELECT x.version AS release, x.dx, x.mdc, x.drg
FROM msdrg_dx_drg x
WHERE EXISTS (SELECT 1 FROM msdrg_drg_def d WHERE d.version = x.version)
  AND NOT EXISTS (SELECT 1 FROM msdrg_drg_def d WHERE d.version = x.version AND d.drg = x.drg)
ORDER BY 1, 2;

-- gate: msdrg.plausible_vs_previous
-- checks: a version keeps at least 95% of the MS-DRGs and 98% of the Appendix B diagnoses of the previous loaded version
-- file: appendix_a, appendix_b
WITH r AS (SELECT DISTINCT release, effective_from FROM releases WHERE dataset = 'msdrg'),
o AS (SELECT release, lag(release) OVER (ORDER BY effective_from, release) AS previous FROM r),
drg AS (
    SELECT o.release, o.previous, 'MS-DRGs' AS what, count(*) AS in_previous, count(*) FILTER (WHERE c.drg IS NULL) AS lost, 0.05 AS tolerance
    FROM o JOIN msdrg_drg_def p ON p.version = o.previous
    LEFT JOIN msdrg_drg_def c ON c.version = o.release AND c.drg = p.drg GROUP BY ALL),
dx AS (
    SELECT o.release, o.previous, 'diagnoses', count(*), count(*) FILTER (WHERE c.dx IS NULL), 0.02
    FROM o JOIN msdrg_dx p ON p.version = o.previous
    LEFT JOIN msdrg_dx c ON c.version = o.release AND c.dx = p.dx GROUP BY ALL)
SELECT release, previous, what, lost, in_previous, round(100.0 * lost / in_previous, 2) AS pct_lost
FROM (SELECT * FROM drg UNION ALL SELECT * FROM dx)
WHERE lost > tolerance * in_previous
ORDER BY 1, 3;

-- gate: msdrg.appendix_b_is_the_code_set
-- checks: the diagnoses of each version's Appendix B are exactly the valid ICD-10-CM codes outside V00-Y99 (external causes, which group nowhere) of the ICD-10-CM release in effect on the version's first day, for every version whose day an ICD-10-CM release loaded covers (v43 = 2026, v42.1 = 2025-04, v41 = 2024)
-- file: appendix_b, icd10cm:codes, icd10cm:tabular
WITH v AS (
    SELECT DISTINCT r.release AS version, r.effective_from FROM releases AS r
    WHERE r.dataset = 'msdrg' AND r.release IN (SELECT DISTINCT d.version FROM msdrg_dx AS d)
), pair AS (
    SELECT v.version, h.release AS icd10cm_release
    FROM v JOIN icd10cm_history_releases AS h
      ON v.effective_from BETWEEN h.period_from AND coalesce(h.period_to, DATE '9999-12-31')
), expected AS (
    SELECT p.version, p.icd10cm_release, c.code FROM pair AS p
    JOIN icd10cm_codes AS c ON c.release = p.icd10cm_release AND c.is_billable AND left(c.code, 1) NOT IN ('V', 'W', 'X', 'Y')
), got AS (
    SELECT p.version, p.icd10cm_release, d.dx AS code FROM pair AS p JOIN msdrg_dx AS d ON d.version = p.version
)
SELECT version AS release, icd10cm_release, code, 'a valid ICD-10-CM code missing from Appendix B' AS problem
FROM (SELECT * FROM expected EXCEPT SELECT * FROM got)
UNION ALL
SELECT version, icd10cm_release, code, 'in Appendix B, not a valid ICD-10-CM code outside V00-Y99' FROM (SELECT * FROM got EXCEPT SELECT * FROM expected)
ORDER BY 1, 3;

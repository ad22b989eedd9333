-- Quality gates of the IPPS tables: Table 5 (msdrg_drg_weight) and Tables 6I/6J/6K (msdrg_cc,
-- msdrg_cc_exclusion, msdrg_cc_drg_exclusion) (format: see codeetl/gates.py). An IPPS release id is its
-- fiscal year (fy2026); MS-DRG version vNN is in effect for fiscal year NN + 1983 (v43 = FY2026).

-- gate: ipps.files_not_empty
-- checks: Table 5 gave MS-DRG weights, Table 6I MCCs, Table 6J CCs and Table 6K CC exclusions for the release's fiscal year (a file holding only its header fails)
-- file: table5, table6i, table6j, table6k
WITH f AS (SELECT DISTINCT release, role, file_name FROM source_files WHERE dataset = 'ipps'),
cc AS (SELECT 'fy' || (CAST(regexp_extract(version, '^v(\d\d)', 1) AS INTEGER) + 1983) AS release, level FROM msdrg_cc),
ex AS (SELECT DISTINCT 'fy' || (CAST(regexp_extract(version, '^v(\d\d)', 1) AS INTEGER) + 1983) AS release FROM msdrg_cc_exclusion)
SELECT f.release, f.role, f.file_name FROM f
WHERE (f.role = 'table5' AND NOT EXISTS (SELECT 1 FROM msdrg_drg_weight w WHERE 'fy' || w.fiscal_year = f.release))
   OR (f.role = 'table6i' AND NOT EXISTS (SELECT 1 FROM cc WHERE cc.release = f.release AND cc.level = 'MCC'))
   OR (f.role = 'table6j' AND NOT EXISTS (SELECT 1 FROM cc WHERE cc.release = f.release AND cc.level = 'CC'))
   OR (f.role = 'table6k' AND NOT EXISTS (SELECT 1 FROM ex WHERE ex.release = f.release))
ORDER BY 1, 2;

-- gate: ipps.table5_covers_appendix_a
-- checks: every MS-DRG of Appendix A has Table 5 weights and lengths of stay, and every Table 5 MS-DRG is in Appendix A, for each version both are loaded for; CMS publishes no values for 998 and 999 (ungroupable)
-- file: table5
WITH both_loaded AS (SELECT DISTINCT version FROM msdrg_drg_weight
                     WHERE version IN (SELECT version FROM msdrg_drg_def))
SELECT 'fy' || (CAST(regexp_extract(d.version, '^v(\d\d)', 1) AS INTEGER) + 1983) AS release, d.version, d.drg,
       d.title, CASE WHEN w.drg IS NULL THEN 'not in Table 5' ELSE 'no weight or length of stay' END AS problem
FROM msdrg_drg_def d JOIN both_loaded USING (version)
LEFT JOIN msdrg_drg_weight w ON w.version = d.version AND w.drg = d.drg
WHERE d.drg NOT IN ('998', '999')
  AND (w.drg IS NULL OR w.weight IS NULL OR w.gmlos IS NULL OR w.amlos IS NULL)
UNION ALL
SELECT 'fy' || w.fiscal_year, w.version, w.drg, w.title, 'not in Appendix A'
FROM msdrg_drg_weight w JOIN both_loaded USING (version)
WHERE NOT EXISTS (SELECT 1 FROM msdrg_drg_def d WHERE d.version = w.version AND d.drg = w.drg)
ORDER BY 2, 3;

-- gate: ipps.weights_in_bounds
-- checks: relative weights between 0.05 and 100 (the highest, CAR-T, is 43), and geometric/arithmetic mean lengths of stay between 1 and 100 days
-- file: table5
SELECT 'fy' || fiscal_year AS release, version, drg, weight, gmlos, amlos FROM msdrg_drg_weight
WHERE weight NOT BETWEEN 0.05 AND 100 OR gmlos NOT BETWEEN 1 AND 100 OR amlos NOT BETWEEN 1 AND 100
ORDER BY 2, 3;

-- gate: ipps.cc_codes_are_valid
-- checks: every CC/MCC code (Tables 6I/6J) is a billable ICD-10-CM code of the ICD-10-CM release in effect on the first day of its fiscal year (checked when that release is loaded)
-- file: table6i, table6j, icd10cm:codes, icd10cm:tabular
WITH cc AS (SELECT *, make_date(CAST(regexp_extract(version, '^v(\d\d)', 1) AS INTEGER) + 1982, 10, 1) AS fy_start
            FROM msdrg_cc),
icd AS (SELECT DISTINCT release, effective_from, effective_to FROM releases WHERE dataset = 'icd10cm'),
pair AS (SELECT DISTINCT cc.version, cc.fy_start, icd.release AS icd10cm_release FROM cc
         JOIN icd ON icd.effective_from <= cc.fy_start AND (icd.effective_to IS NULL OR cc.fy_start <= icd.effective_to))
SELECT 'fy' || year(pair.fy_start) + 1 AS release, cc.version, cc.dx, cc.level, pair.icd10cm_release
FROM cc JOIN pair USING (version)
WHERE NOT EXISTS (SELECT 1 FROM icd10cm_codes k WHERE k.release = pair.icd10cm_release AND k.code = cc.dx AND k.is_billable)
ORDER BY 2, 3;

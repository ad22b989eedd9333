-- Quality gates of the Medicare Physician Fee Schedule tables (format: see codeetl/gates.py).

-- gate: pfs.files_not_empty
-- checks: the RVU file gave procedures, the GPCI file at least 50 localities (109 today), the locality file at least 50 localities (a file holding only its header fails)
-- file: rvu, gpci, locco
WITH f AS (SELECT DISTINCT release, role, file_name FROM source_files WHERE dataset = 'pfs' AND role IN ('rvu', 'gpci', 'locco'))
SELECT f.release, f.role, f.file_name, n.found FROM f
CROSS JOIN LATERAL (SELECT CASE f.role
    WHEN 'rvu' THEN (SELECT count(*) FROM pfs_rvu t WHERE t.release = f.release)
    WHEN 'gpci' THEN (SELECT count(*) FROM pfs_gpci t WHERE t.release = f.release)
    WHEN 'locco' THEN (SELECT count(*) FROM pfs_locality t WHERE t.release = f.release) END AS found) n
WHERE n.found < CASE f.role WHEN 'rvu' THEN 1 ELSE 50 END
ORDER BY 1, 2;

-- gate: pfs.conversion_factor_in_bounds
-- checks: every conversion factor is between 25 and 50 dollars (it has been 32 to 38 since 1998)
-- file: rvu
SELECT release, conversion_factor, count(*) AS "rows", min(hcpcs) AS example_hcpcs FROM pfs_rvu
WHERE conversion_factor NOT BETWEEN 25 AND 50
GROUP BY ALL ORDER BY 1;

-- gate: pfs.gpci_in_bounds
-- checks: work GPCIs between 0.8 and 2.0, practice-expense GPCIs between 0.5 and 2.0, malpractice GPCIs between 0.1 and 5.0
-- file: gpci
SELECT release, mac, locality, locality_name, work_gpci, pe_gpci, mp_gpci FROM pfs_gpci
WHERE work_gpci NOT BETWEEN 0.8 AND 2.0 OR pe_gpci NOT BETWEEN 0.5 AND 2.0 OR mp_gpci NOT BETWEEN 0.1 AND 5.0
ORDER BY 1, 2, 3;

-- gate: pfs.rvus_not_negative
-- checks: no RVU or total is negative
-- file: rvu
SELECT release, hcpcs, modifier, work_rvu, nonfacility_pe_rvu, facility_pe_rvu, mp_rvu, nonfacility_total, facility_total
FROM pfs_rvu
WHERE least(work_rvu, nonfacility_pe_rvu, facility_pe_rvu, mp_rvu, nonfacility_total, facility_total) < 0
ORDER BY 1, 2, 3;

-- gate: pfs.plausible_vs_previous
-- checks: a release keeps at least 97% of the HCPCS codes and 95% of the GPCI localities of the previous loaded release (January updates delete about 1% of codes)
-- file: rvu, gpci
WITH r AS (SELECT DISTINCT release, effective_from FROM releases WHERE dataset = 'pfs'),
o AS (SELECT release, lag(release) OVER (ORDER BY effective_from, release) AS previous FROM r),
codes AS (SELECT DISTINCT release, hcpcs AS k FROM pfs_rvu),
loc AS (SELECT DISTINCT release, mac || '-' || locality AS k FROM pfs_gpci),
lost AS (
    SELECT o.release, o.previous, 'HCPCS codes' AS what, count(*) AS in_previous, count(*) FILTER (WHERE c.k IS NULL) AS lost, 0.03 AS tolerance
    FROM o JOIN codes p ON p.release = o.previous LEFT JOIN codes c ON c.release = o.release AND c.k = p.k GROUP BY ALL
    UNION ALL
    SELECT o.release, o.previous, 'GPCI localities', count(*), count(*) FILTER (WHERE c.k IS NULL), 0.05
    FROM o JOIN loc p ON p.release = o.previous LEFT JOIN loc c ON c.release = o.release AND c.k = p.k GROUP BY ALL)
SELECT release, previous, what, lost, in_previous, round(100.0 * lost / in_previous, 2) AS pct_lost
FROM lost WHERE lost > tolerance * in_previous
ORDER BY 1, 3;

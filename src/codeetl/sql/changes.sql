-- What a refresh changed: for each release it added, counts of what differs from the loaded release before
-- it (by effective date), per dataset. Run by codeetl.changes on the new build (read-only) before it is
-- published; the refresh prints the counts, returns them in --json and in the Prefect artifact, and the
-- ledger keeps them (refresh_runs.changes). ICD-10-CM and MS-DRG read the history tables the build derived
-- (icd10cm_changes, msdrg_changes); the PFS compares pfs_rvu / pfs_payment of the two releases.
-- Parameter $added: the added releases as 'dataset/release' strings.
-- Columns: dataset, release, from_release, subject, change, n. A release with no loaded release before it has no row.

-- Each dataset's counts are a statement of their own, `counts_<dataset>`, run only when the refresh added a release of
-- that dataset (msdrg_changes compares every pair of grouper versions: seconds, for a refresh that added none).

-- name: counts_icd10cm
WITH added AS (SELECT unnest(CAST($added AS VARCHAR[])) AS key)
SELECT 'icd10cm' AS dataset, c.to_release AS release, c.from_release,
       CASE WHEN c.change LIKE 'note%' THEN 'notes' WHEN c.is_billable = false THEN 'headers' ELSE 'codes' END AS subject,
       c.change, count(*) AS n
FROM icd10cm_changes c WHERE 'icd10cm/' || c.to_release IN (SELECT key FROM added)
GROUP BY ALL
ORDER BY dataset, release, subject, change;

-- name: counts_msdrg
WITH added AS (SELECT unnest(CAST($added AS VARCHAR[])) AS key)
SELECT 'msdrg' AS dataset, m.to_version AS release, m.from_version AS from_release,
       CASE m.subject_kind WHEN 'drg' THEN 'drgs' ELSE 'diagnoses' END AS subject, m.change, count(*) AS n
FROM msdrg_changes m WHERE 'msdrg/' || m.to_version IN (SELECT key FROM added)
GROUP BY ALL
ORDER BY dataset, release, subject, change;

-- name: counts_pfs
WITH added AS (SELECT unnest(CAST($added AS VARCHAR[])) AS key),
pfs_pairs AS (
    SELECT c.release, (SELECT p.release FROM release_calendar p WHERE p.dataset = 'pfs' AND p.effective_from < c.effective_from
                       ORDER BY p.effective_from DESC LIMIT 1) AS from_release
    FROM release_calendar c WHERE c.dataset = 'pfs' AND 'pfs/' || c.release IN (SELECT key FROM added)
), pfs_added AS (
    SELECT p.release, p.from_release, 'procedures' AS subject, 'added' AS change, count(*) AS n
    FROM pfs_pairs p JOIN pfs_rvu n ON n.release = p.release
    WHERE p.from_release IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM pfs_rvu o WHERE o.release = p.from_release AND o.hcpcs = n.hcpcs AND o.modifier = n.modifier)
    GROUP BY ALL
), pfs_deleted AS (
    SELECT p.release, p.from_release, 'procedures' AS subject, 'deleted' AS change, count(*) AS n
    FROM pfs_pairs p JOIN pfs_rvu o ON o.release = p.from_release
    WHERE NOT EXISTS (SELECT 1 FROM pfs_rvu n WHERE n.release = p.release AND n.hcpcs = o.hcpcs AND n.modifier = o.modifier)
    GROUP BY ALL
), pfs_fees AS (
    SELECT p.release, p.from_release, 'national amounts' AS subject, 'changed' AS change, count(*) AS n
    FROM pfs_pairs p
    JOIN pfs_payment n ON n.release = p.release AND n.locality = 'national'
    JOIN pfs_payment o ON o.release = p.from_release AND o.locality = 'national' AND o.hcpcs = n.hcpcs AND o.modifier = n.modifier
    WHERE n.nonfacility_amount IS DISTINCT FROM o.nonfacility_amount OR n.facility_amount IS DISTINCT FROM o.facility_amount
    GROUP BY ALL
)
SELECT 'pfs' AS dataset, * FROM pfs_added
UNION ALL SELECT 'pfs', * FROM pfs_deleted
UNION ALL SELECT 'pfs', * FROM pfs_fees
ORDER BY dataset, release, subject, change;

-- name: previous
-- The loaded release before each added one (by effective date; NULL for the first of its dataset): what the
-- counts compare against, also when nothing differs (FY2026 April 1 changed no code: "no changes"), and
-- whether the counts above cover its dataset at all (counted; keep in step with the counts_<dataset> statements).
SELECT c.dataset, c.release,
       (SELECT p.release FROM release_calendar p WHERE p.dataset = c.dataset AND p.effective_from < c.effective_from
        ORDER BY p.effective_from DESC, p.release DESC LIMIT 1) AS from_release,
       c.dataset IN ('icd10cm', 'msdrg', 'pfs') AS counted
FROM release_calendar c
WHERE c.dataset || '/' || c.release IN (SELECT unnest(CAST($added AS VARCHAR[])))
ORDER BY 1, 2;

-- ICD-10-CM quality gates: each SELECT returns the offending rows, a build publishes only when all return none.

-- gate: icd10cm.addenda_base_count
-- checks: the release the addenda are read against (icd10cm_addenda_base: the latest loaded one before them with the trailer's count_before valid codes) has exactly that many valid codes, and as many headers as the trailer says when it has headers, and a release with addenda but nothing to derive it from is an error
-- file: order_addenda / code_addenda (trailer), against the previous release's code set
SELECT b.release, b.base_release, t.kind, t.count_before AS expected,
       CASE t.kind WHEN 'codes' THEN b.base_codes ELSE b.base_headers END AS found
FROM icd10cm_addenda_base b
JOIN icd10cm_addenda_totals t ON t.release = b.release
WHERE b.base_release IS NOT NULL
  AND ((t.kind = 'codes' AND t.count_before <> b.base_codes)
       OR (t.kind = 'headers' AND b.base_headers > 0 AND t.count_before <> b.base_headers))
UNION ALL
SELECT b.release, NULL, 'codes', NULL, NULL
FROM icd10cm_addenda_base b
WHERE b.base_release IS NULL AND b.release NOT IN (SELECT release FROM icd10cm_codes);

-- gate: icd10cm.addenda_count_after
-- checks: a release with addenda has exactly the valid codes its trailer counts after the change (FY2027: 74,879), and the headers too when it has any (23,524)
-- file: order_addenda / code_addenda (trailer), against the release's own code set (parsed or derived)
WITH counts AS (
    SELECT release, count(*) FILTER (WHERE is_billable) AS codes, count(*) FILTER (WHERE NOT is_billable) AS headers
    FROM icd10cm_codes GROUP BY release
)
SELECT t.release, t.kind, t.count_after AS expected, CASE t.kind WHEN 'codes' THEN c.codes ELSE c.headers END AS found
FROM icd10cm_addenda_totals t JOIN counts c ON c.release = t.release
WHERE (t.kind = 'codes' AND c.codes <> t.count_after)
   OR (t.kind = 'headers' AND c.headers > 0 AND c.headers <> t.count_after);

-- gate: icd10cm.addenda_equal_diff
-- checks: when a release with addenda and the release they are read against are both loaded, the difference of their code sets is exactly the addenda: every valid code (and every header, when both have headers) of the new release is in the old one or added, every one of the old release is in the new one or deleted, added and retitled codes carry the addenda's long title and every other valid code keeps its title
-- file: order_addenda / code_addenda, against both releases' code sets
WITH pairs AS (
    SELECT b.release, b.base_release,
           b.base_headers > 0 AND EXISTS (SELECT 1 FROM icd10cm_codes h WHERE h.release = b.release AND NOT h.is_billable) AS with_headers
    FROM icd10cm_addenda_base b WHERE b.base_release IS NOT NULL
), old AS (
    SELECT p.release, c.code, c.is_billable, c.description FROM pairs p JOIN icd10cm_codes c ON c.release = p.base_release
    WHERE c.is_billable OR p.with_headers
), new AS (
    SELECT p.release, c.code, c.is_billable, c.description FROM pairs p JOIN icd10cm_codes c ON c.release = p.release
    WHERE c.is_billable OR p.with_headers
), adds AS (
    SELECT a.release, a.code, a.is_billable, a.description FROM icd10cm_addenda a JOIN pairs p USING (release)
    WHERE a.action = 'add' AND (a.is_billable OR p.with_headers)
), dels AS (
    SELECT a.release, a.code, a.is_billable FROM icd10cm_addenda a JOIN pairs p USING (release)
    WHERE a.action = 'delete' AND (a.is_billable OR p.with_headers)
), expected AS (
    SELECT release, code, is_billable FROM old
    EXCEPT SELECT release, code, is_billable FROM dels
    UNION SELECT release, code, is_billable FROM adds
), retitled AS (
    SELECT a.release, a.code, a.description FROM icd10cm_addenda a JOIN pairs USING (release)
    WHERE a.action = 'revise_to' AND a.is_billable
)
SELECT release, code, is_billable, 'in the new release, but neither in the old one nor added' AS problem
FROM (SELECT release, code, is_billable FROM new EXCEPT SELECT release, code, is_billable FROM expected)
UNION ALL
SELECT release, code, is_billable, 'expected from the old release and the addenda, but not in the new release'
FROM (SELECT release, code, is_billable FROM expected EXCEPT SELECT release, code, is_billable FROM new)
UNION ALL
SELECT d.release, d.code, d.is_billable, 'deleted by the addenda, but not in the old release'
FROM dels d WHERE NOT EXISTS (SELECT 1 FROM old o WHERE o.release = d.release AND o.code = d.code AND o.is_billable = d.is_billable)
UNION ALL
SELECT n.release, n.code, n.is_billable, 'title differs from the addenda: ' || n.description
FROM new n JOIN (SELECT release, code, description FROM adds WHERE is_billable UNION ALL SELECT * FROM retitled) x
  ON x.release = n.release AND x.code = n.code
WHERE n.is_billable AND n.description <> x.description
UNION ALL
SELECT n.release, n.code, n.is_billable, 'title changed without a revision in the addenda: ' || o.description || ' -> ' || n.description
FROM new n JOIN old o ON o.release = n.release AND o.code = n.code AND o.is_billable AND n.is_billable
WHERE n.description <> o.description
  AND NOT EXISTS (SELECT 1 FROM icd10cm_addenda a WHERE a.release = n.release AND a.code = n.code AND a.action IN ('revise_to', 'add'));

-- Quality gates of the ICD-10-CM tables (format: see codeetl/gates.py). Each SELECT returns the offending
-- rows; no row = pass. A category such as C4A, M1A or Z3A (a letter in third place) is placed by CMS
-- among the categories of its first two characters, so it is range-checked on those two.

-- gate: icd10cm.code_in_category_section_chapter
-- checks: every Tabular code starts with its category, its category lies inside its section's range, and its section inside its chapter's range (a category moved under another chapter fails)
-- file: tabular
SELECT c.release, c.code, c.category, c.section, s.first_code || '-' || s.last_code AS section_range,
       c.chapter, h.first_code || '-' || h.last_code AS chapter_range
FROM icd10cm_codes c
LEFT JOIN icd10cm_sections s ON s.release = c.release AND s.section = c.section
LEFT JOIN icd10cm_chapters h ON h.release = c.release AND h.chapter = c.chapter
WHERE c.section IS NOT NULL AND (
      s.section IS NULL OR h.chapter IS NULL OR s.chapter <> c.chapter
   OR NOT starts_with(c.code_nodot, c.category)
   OR NOT CASE WHEN regexp_full_match(c.category, '[A-Z][0-9][0-9]')
               THEN c.category BETWEEN s.first_code AND s.last_code AND c.category BETWEEN h.first_code AND h.last_code
               ELSE left(c.category, 2) BETWEEN left(s.first_code, 2) AND left(s.last_code, 2)
                AND left(c.category, 2) BETWEEN left(h.first_code, 2) AND left(h.last_code, 2) END)
ORDER BY c.release, c.code;

-- gate: icd10cm.chapters_disjoint
-- checks: no two chapters of a release have overlapping code ranges
-- file: tabular
SELECT a.release, a.chapter, a.first_code || '-' || a.last_code AS chapter_range,
       b.chapter AS other_chapter, b.first_code || '-' || b.last_code AS other_range
FROM icd10cm_chapters a
JOIN icd10cm_chapters b ON a.release = b.release AND a.chapter < b.chapter
WHERE a.first_code <= b.last_code AND b.first_code <= a.last_code
ORDER BY a.release, a.chapter;

-- gate: icd10cm.unique_keys
-- checks: one row per (release, code) in icd10cm_codes and icd10cm_valid_codes, per (release, chapter) in icd10cm_chapters, per (release, section) in icd10cm_sections
-- file: tabular, codes
SELECT 'icd10cm_codes' AS "table", release, code AS "key", count(*) AS "rows" FROM icd10cm_codes GROUP BY ALL HAVING count(*) > 1
UNION ALL SELECT 'icd10cm_valid_codes', release, code, count(*) FROM icd10cm_valid_codes GROUP BY ALL HAVING count(*) > 1
UNION ALL SELECT 'icd10cm_chapters', release, chapter::VARCHAR, count(*) FROM icd10cm_chapters GROUP BY ALL HAVING count(*) > 1
UNION ALL SELECT 'icd10cm_sections', release, section, count(*) FROM icd10cm_sections GROUP BY ALL HAVING count(*) > 1
ORDER BY 2, 3;

-- gate: icd10cm.parent_exists
-- checks: every code's parent is a code of the same release
-- file: tabular
SELECT c.release, c.code, c.parent
FROM icd10cm_codes c
LEFT JOIN icd10cm_codes p ON p.release = c.release AND p.code = c.parent
WHERE c.parent IS NOT NULL AND p.code IS NULL
ORDER BY c.release, c.code;

-- gate: icd10cm.files_not_empty
-- checks: every loaded file gave rows: a Tabular XML chapters and codes under them, a code file codes, an order file entries (a file holding only a header fails)
-- file: tabular, codes, order
WITH f AS (SELECT DISTINCT release, role, file_name FROM source_files WHERE dataset = 'icd10cm')
SELECT f.release, f.role, f.file_name FROM f
WHERE (f.role = 'tabular' AND (NOT EXISTS (SELECT 1 FROM icd10cm_chapters c WHERE c.release = f.release)
                            OR NOT EXISTS (SELECT 1 FROM icd10cm_codes c WHERE c.release = f.release AND c.chapter IS NOT NULL)))
   OR (f.role = 'codes' AND NOT EXISTS (SELECT 1 FROM icd10cm_valid_codes c WHERE c.release = f.release))
   OR (f.role = 'order' AND NOT EXISTS (SELECT 1 FROM icd10cm_order c WHERE c.release = f.release))
ORDER BY 1, 2;

-- gate: icd10cm.codes_plausible_vs_previous
-- checks: a release keeps at least 98% of the billable codes of the previous loaded release (by effective date); CMS deletes a few dozen a year
-- file: tabular, codes
WITH r AS (SELECT DISTINCT release, effective_from FROM releases WHERE dataset = 'icd10cm'),
o AS (SELECT release, lag(release) OVER (ORDER BY effective_from, release) AS previous FROM r),
prev AS (SELECT release, count(*) AS n FROM icd10cm_codes WHERE is_billable GROUP BY 1),
lost AS (
    SELECT o.release, o.previous, count(*) FILTER (WHERE c.code IS NULL) AS lost
    FROM o JOIN icd10cm_codes p ON p.release = o.previous AND p.is_billable
    LEFT JOIN icd10cm_codes c ON c.release = o.release AND c.code = p.code AND c.is_billable
    GROUP BY ALL)
SELECT lost.release, lost.previous, lost.lost AS codes_lost, prev.n AS codes_in_previous,
       round(100.0 * lost.lost / prev.n, 2) AS pct_lost
FROM lost JOIN prev ON prev.release = lost.previous
WHERE lost.lost > 0.02 * prev.n
ORDER BY 1;

-- Addenda gates (issue 8): a release's addenda against the code sets of the release they lead from and to.
-- icd10cm_addenda_base (filled by derive.sql) names, for each release with addenda, the release they are read
-- against. A release derived from its addenda (releases.derived_from) is checked by the same gates.

-- gate: icd10cm.addenda_base_count
-- checks: the release the addenda are read against (icd10cm_addenda_base: the latest loaded one before them with the trailer's count_before valid codes) has exactly that many valid codes, and as many headers as the trailer says when it has headers, and a release with addenda but nothing to derive it from is an error
-- file: order_addenda, code_addenda
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
-- file: order_addenda, code_addenda
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
-- file: order_addenda, code_addenda, tabular, codes, order
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

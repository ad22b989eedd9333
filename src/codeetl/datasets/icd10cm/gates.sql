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

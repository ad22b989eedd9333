-- ICD-10-CM derivations across releases, run once every parse is loaded.
--
-- 1. icd10cm_addenda_base: for each release with addenda, the release they are read against: the latest loaded
--    release in effect before it whose number of valid codes is the trailer's count_before (else the latest
--    before it; the gates then report the mismatch).
-- 2. A release with addenda but no codes of its own (no Tabular, code or order file: FY2027 in the offline
--    mirror) is derived: its icd10cm_codes are the base release's minus the deletions, plus the additions, with
--    the revised titles; chapters, sections, notes and 7th characters are copied from the base release for
--    every node the addenda do not touch (added, deleted or retitled nodes get no notes and no Tabular title).
--    New codes: category = first three characters; parent = the longest other code of the release that
--    prefixes it; depth = 1 + the number of such prefixes; section and chapter = those of the category in the
--    base release, else the base release's section / chapter whose range contains the category (no section
--    otherwise; the chapter of the nearest preceding category of the same letter otherwise: FY2027's QA1 lies
--    outside chapter 17's printed range Q00-QA0); 7th character = the last one, where a sevenChrDef of the base
--    release on a prefix defines it; seq = after the base release code that precedes it alphabetically.
--    releases.derived_from / releases.derivation say so.

CREATE OR REPLACE TEMP TABLE _icd_rel AS
SELECT release, min(effective_from) AS effective_from, any_value(label) AS label
FROM releases WHERE dataset = 'icd10cm' GROUP BY release;

CREATE OR REPLACE TEMP TABLE _icd_counts AS
SELECT release, count(*) FILTER (WHERE is_billable) AS codes, count(*) FILTER (WHERE NOT is_billable) AS headers
FROM icd10cm_codes GROUP BY release;

INSERT INTO icd10cm_addenda_base
SELECT a.release,
       coalesce(arg_max(p.release, p.effective_from) FILTER (WHERE c.codes = t.count_before),
                arg_max(p.release, p.effective_from)) AS base_release,
       NULL, NULL, NULL,
       a.release NOT IN (SELECT release FROM _icd_counts)
FROM (SELECT DISTINCT release FROM icd10cm_addenda) a
JOIN _icd_rel r ON r.release = a.release
LEFT JOIN icd10cm_addenda_totals t ON t.release = a.release AND t.kind = 'codes'
LEFT JOIN _icd_rel p ON p.effective_from < r.effective_from AND p.release IN (SELECT release FROM _icd_counts)
LEFT JOIN _icd_counts c ON c.release = p.release
GROUP BY a.release;

UPDATE icd10cm_addenda_base b SET
    base_codes = c.codes, base_headers = c.headers,
    count_matches = (SELECT t.count_before = c.codes FROM icd10cm_addenda_totals t WHERE t.release = b.release AND t.kind = 'codes')
FROM _icd_counts c WHERE c.release = b.base_release;

UPDATE icd10cm_addenda_base SET derived = false WHERE base_release IS NULL;

-- ---------------------------------------------------------------------------------------- derived releases
CREATE OR REPLACE TEMP TABLE _derive AS
SELECT release, base_release FROM icd10cm_addenda_base WHERE derived;

-- Nodes the addenda touch (added, deleted or retitled): no notes, no Tabular title in the derived release.
CREATE OR REPLACE TEMP TABLE _touched AS
SELECT DISTINCT a.release, a.code FROM icd10cm_addenda a JOIN _derive d USING (release);

CREATE OR REPLACE TEMP TABLE _kept AS
SELECT d.release AS new_release, c.*
FROM _derive d JOIN icd10cm_codes c ON c.release = d.base_release
WHERE NOT EXISTS (SELECT 1 FROM icd10cm_addenda a WHERE a.release = d.release AND a.action = 'delete'
                  AND a.code = c.code AND a.is_billable = c.is_billable);

CREATE OR REPLACE TEMP TABLE _added AS
SELECT a.release AS new_release, d.base_release, a.code, a.code_nodot, a.is_billable, a.description
FROM _derive d JOIN icd10cm_addenda a ON a.release = d.release AND a.action = 'add';

CREATE OR REPLACE TEMP TABLE _final_set AS
SELECT new_release AS release, code, code_nodot FROM _kept
UNION ALL SELECT new_release, code, code_nodot FROM _added;

CREATE OR REPLACE TEMP TABLE _new_rows AS
WITH prefixes AS (
    SELECT x.new_release, x.code, max_by(f.code, length(f.code_nodot)) AS parent, count(f.code) AS n_prefixes
    FROM _added x LEFT JOIN _final_set f
      ON f.release = x.new_release AND length(f.code_nodot) < length(x.code_nodot) AND starts_with(x.code_nodot, f.code_nodot)
    GROUP BY ALL
), seventh AS (
    SELECT x.new_release, x.code, max_by(s.code, length(s.code)) AS def_node
    FROM _added x JOIN (SELECT DISTINCT release, code, replace(code, '.', '') AS nodot FROM icd10cm_seventh_chars) s
      ON s.release = x.base_release AND starts_with(x.code_nodot, s.nodot)
    GROUP BY ALL
), base_cat AS (
    SELECT release, code, section, chapter FROM icd10cm_codes WHERE depth = 1
)
SELECT x.new_release AS release, x.code, x.code_nodot, x.description, x.is_billable, x.base_release,
       p.parent, left(x.code, 3) AS category,
       coalesce(bc.section,
                (SELECT min(s.section) FROM icd10cm_sections s
                 WHERE s.release = x.base_release AND left(s.first_code, 1) = left(x.code, 1)
                   AND s.first_code <= left(x.code, 3) AND left(x.code, 3) <= s.last_code
                   AND s.section IN (SELECT section FROM icd10cm_codes k WHERE k.release = x.base_release))) AS section,
       coalesce(bc.chapter,
                (SELECT min(h.chapter) FROM icd10cm_chapters h WHERE h.release = x.base_release
                   AND h.first_code <= left(x.code, 3) AND left(x.code, 3) <= h.last_code),
                (SELECT arg_max(k.chapter, k.code) FROM base_cat k WHERE k.release = x.base_release
                   AND left(k.code, 1) = left(x.code, 1) AND k.code < left(x.code, 3))) AS chapter,
       (1 + p.n_prefixes)::SMALLINT AS depth,
       CASE WHEN x.is_billable AND length(x.code_nodot) = 7 AND EXISTS (
                SELECT 1 FROM icd10cm_seventh_chars s WHERE s.release = x.base_release AND s.code = sv.def_node
                  AND s.char = right(x.code, 1)) THEN right(x.code, 1) END AS seventh_char,
       sv.def_node
FROM _added x
JOIN prefixes p ON p.new_release = x.new_release AND p.code = x.code
LEFT JOIN seventh sv ON sv.new_release = x.new_release AND sv.code = x.code
LEFT JOIN base_cat bc ON bc.release = x.base_release AND bc.code = left(x.code, 3);

-- Kept rows whose parent the addenda deleted take the longest remaining prefix.
CREATE OR REPLACE TEMP TABLE _kept_parent AS
SELECT k.new_release, k.code,
       CASE WHEN k.parent IS NULL OR EXISTS (SELECT 1 FROM _final_set f WHERE f.release = k.new_release AND f.code = k.parent)
            THEN k.parent
            ELSE (SELECT max_by(f.code, length(f.code_nodot)) FROM _final_set f WHERE f.release = k.new_release
                    AND length(f.code_nodot) < length(k.code_nodot) AND starts_with(k.code_nodot, f.code_nodot)) END AS parent
FROM _kept k;

CREATE OR REPLACE TEMP TABLE _derived_codes AS
WITH revised AS (
    SELECT a.release, a.code, a.is_billable, a.description FROM icd10cm_addenda a JOIN _derive d USING (release)
    WHERE a.action = 'revise_to'
), rows AS (
    SELECT k.new_release AS release, k.code, k.code_nodot, coalesce(r.description, k.description) AS description,
           CASE WHEN t.code IS NULL THEN k.description_tabular END AS description_tabular, k.is_billable,
           kp.parent, k.category, k.section, k.chapter, k.depth, k.seventh_char, k.seventh_char_from,
           k.seq::DOUBLE AS sort_key, 0 AS is_new
    FROM _kept k
    JOIN _kept_parent kp ON kp.new_release = k.new_release AND kp.code = k.code
    LEFT JOIN revised r ON r.release = k.new_release AND r.code = k.code AND r.is_billable = k.is_billable
    LEFT JOIN _touched t ON t.release = k.new_release AND t.code = k.code
    UNION ALL
    SELECT n.release, n.code, n.code_nodot, n.description, NULL, n.is_billable, n.parent, n.category, n.section,
           n.chapter, n.depth, n.seventh_char,
           CASE WHEN n.seventh_char IS NOT NULL THEN n.def_node END,
           coalesce((SELECT arg_max(b.seq, b.code_nodot) FROM _kept b WHERE b.new_release = n.release
                     AND b.code_nodot < n.code_nodot), 0)::DOUBLE + 0.5,
           1
    FROM _new_rows n
)
SELECT release, code, code_nodot, description, description_tabular, is_billable, parent, category, section, chapter,
       depth, seventh_char, seventh_char_from,
       row_number() OVER (PARTITION BY release ORDER BY sort_key, is_new, code_nodot)::INTEGER AS seq
FROM rows;

-- A new header whose every child was made by a 7th character takes one: its seventh_char_from is theirs.
UPDATE _derived_codes h SET seventh_char_from = c.from_node
FROM (SELECT release, parent, any_value(seventh_char_from) AS from_node FROM _derived_codes
      GROUP BY release, parent HAVING count(*) = count(seventh_char)) c
WHERE h.release = c.release AND h.code = c.parent AND NOT h.is_billable AND h.seventh_char_from IS NULL;

INSERT INTO icd10cm_codes BY NAME SELECT * FROM _derived_codes;

INSERT INTO icd10cm_chapters BY NAME
SELECT c.* REPLACE (d.release AS release) FROM _derive d JOIN icd10cm_chapters c ON c.release = d.base_release;

INSERT INTO icd10cm_sections BY NAME
SELECT s.* REPLACE (d.release AS release) FROM _derive d JOIN icd10cm_sections s ON s.release = d.base_release;

INSERT INTO icd10cm_notes BY NAME
SELECT n.* REPLACE (d.release AS release) FROM _derive d JOIN icd10cm_notes n ON n.release = d.base_release
WHERE n.node_kind <> 'code'
   OR (EXISTS (SELECT 1 FROM _final_set f WHERE f.release = d.release AND f.code = n.code)
       AND NOT EXISTS (SELECT 1 FROM _touched t WHERE t.release = d.release AND t.code = n.code));

INSERT INTO icd10cm_seventh_chars BY NAME
SELECT s.* REPLACE (d.release AS release) FROM _derive d JOIN icd10cm_seventh_chars s ON s.release = d.base_release
WHERE EXISTS (SELECT 1 FROM _final_set f WHERE f.release = d.release AND f.code = s.code)
  AND NOT EXISTS (SELECT 1 FROM _touched t WHERE t.release = d.release AND t.code = s.code);

UPDATE releases r SET
    derived_from = d.base_release,
    derivation = 'previous release ' || d.base_release || ' + ' || split_part(x.label, ' ', 1) || ' '
        || replace(coalesce(f.role, 'addenda'), '_', ' ') || ' (' || coalesce(f.file_name, 'addenda') || ')'
        || ': no notes or Tabular hierarchy for new codes'
FROM _derive d
JOIN _icd_rel x ON x.release = d.release
LEFT JOIN (SELECT release, arg_min(role, role) AS role, arg_min(file_name, role) AS file_name FROM source_files
           WHERE dataset = 'icd10cm' AND role IN ('order_addenda', 'code_addenda') GROUP BY release) f ON f.release = d.release
WHERE r.dataset = 'icd10cm' AND r.release = d.release;

DROP TABLE _derived_codes; DROP TABLE _new_rows; DROP TABLE _kept_parent; DROP TABLE _final_set; DROP TABLE _added;
DROP TABLE _kept; DROP TABLE _touched; DROP TABLE _derive; DROP TABLE _icd_counts; DROP TABLE _icd_rel;

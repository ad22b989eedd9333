-- code_page: one row per valid ICD-10-CM code with everything its page shows, as nested lists, for apps
-- that read parquet (data/warehouse/parquet/code_page/code_page.parquet). Materialised once per build
-- (a table, not a view) so readers never pay for the joins.
--
-- Releases used: the latest loaded ICD-10-CM release that has a hierarchy (one built from the Tabular
-- XML), and the latest loaded release of every other dataset (MS-DRG version, compared by its numeric
-- parts so that the point release v43.1 is newer than v43; GEMs; PFS). The CLI's
-- `codeetl code --as-of` picks releases by date instead; this export is the current snapshot.
-- Money and weights are DECIMALs (exact); fee amounts follow pfs_payment (national, half-up to cents).

CREATE TEMP TABLE _cp_release AS
SELECT
    (SELECT r.release FROM releases r
      WHERE r.dataset = 'icd10cm' AND r.release IN (SELECT release FROM icd10cm_chapters)
      ORDER BY r.effective_from DESC LIMIT 1)                                            AS icd,
    (SELECT max_by(version, list_transform(string_split(ltrim(version, 'vV'), '.'), lambda x: TRY_CAST(x AS INTEGER)))
       FROM msdrg_dx_drg)                                                                AS drg_version,
    (SELECT max(release) FROM gem_icd10_to_icd9)                                         AS gem,
    (SELECT r.release FROM releases r WHERE r.dataset = 'pfs' AND r.release IN (SELECT release FROM pfs_rvu)
      ORDER BY r.effective_from DESC LIMIT 1)                                            AS pfs;

-- every code node with each of its ancestors (depth 1 = parent)
CREATE TEMP TABLE _cp_up AS
WITH RECURSIVE up(code, ancestor, depth) AS (
    SELECT c.code, c.parent, 1 FROM icd10cm_codes c, _cp_release r
    WHERE c.release = r.icd AND c.parent IS NOT NULL
    UNION ALL
    SELECT up.code, p.parent, up.depth + 1
    FROM up JOIN icd10cm_codes p ON p.code = up.ancestor AND p.release = (SELECT icd FROM _cp_release)
    WHERE p.parent IS NOT NULL
)
SELECT * FROM up;

CREATE TEMP TABLE _cp_notes AS
WITH applies AS (
    -- the code's own notes, its ancestors' (not their inclusion terms), its section's and its chapter's
    SELECT c.code, 'code' AS node_kind, c.code AS node, false AS inherited, 0 AS rank
    FROM icd10cm_codes c, _cp_release r WHERE c.release = r.icd AND c.is_billable
    UNION ALL
    SELECT u.code, 'code', u.ancestor, true, 10 - u.depth FROM _cp_up u
    UNION ALL
    SELECT c.code, 'section', c.section, true, -2 FROM icd10cm_codes c, _cp_release r WHERE c.release = r.icd AND c.is_billable
    UNION ALL
    SELECT c.code, 'chapter', CAST(c.chapter AS VARCHAR), true, -3 FROM icd10cm_codes c, _cp_release r
    WHERE c.release = r.icd AND c.is_billable
)
SELECT a.code,
       list({'type': n.note_type, 'text': n.note, 'referenced_codes': n.referenced_codes,
             'from_kind': a.node_kind, 'from_code': a.node, 'inherited': a.inherited}
            ORDER BY a.rank, n.note_no) AS notes
FROM applies a
JOIN icd10cm_notes n ON n.release = (SELECT icd FROM _cp_release) AND n.node_kind = a.node_kind AND n.code = a.node
WHERE NOT (a.inherited AND n.note_type = 'inclusionTerm')
GROUP BY a.code;

CREATE TEMP TABLE _cp_icd9 AS
SELECT code, list({'direction': direction, 'icd9': icd9, 'approximate': approximate, 'no_map': no_map,
                   'combination': combination, 'scenario': scenario, 'choice_list': choice_list}
                  ORDER BY direction, line_no) AS icd9
FROM (
    SELECT source AS code, 'icd10_to_icd9' AS direction, target AS icd9, approximate, no_map, combination,
           scenario, choice_list, line_no
    FROM gem_icd10_to_icd9 WHERE release = (SELECT gem FROM _cp_release)
    UNION ALL
    SELECT target, 'icd9_to_icd10', source, approximate, no_map, combination, scenario, choice_list, line_no
    FROM gem_icd9_to_icd10 WHERE release = (SELECT gem FROM _cp_release)
)
GROUP BY code;

CREATE TEMP TABLE _cp_drg AS
SELECT dx AS code, list({'mdc': mdc, 'mdc_name': mdc_name, 'drg': drg, 'title': title, 'severity': severity,
                         'weight': weight, 'gmlos': gmlos, 'amlos': amlos} ORDER BY mdc, drg) AS ms_drg
FROM dx_drg_family WHERE version = (SELECT drg_version FROM _cp_release)
GROUP BY dx;

CREATE TEMP TABLE _cp_proc AS
WITH fees AS (
    SELECT r.hcpcs, r.description, r.status, p.nonfacility_amount, p.facility_amount,
           coalesce(p.nonfacility_note, p.facility_note) AS no_fee_reason
    FROM pfs_rvu r
    JOIN pfs_payment p ON p.release = r.release AND p.hcpcs = r.hcpcs AND p.modifier = r.modifier AND p.locality = 'national'
    WHERE r.release = (SELECT pfs FROM _cp_release) AND r.modifier = ''
), links AS (
    SELECT dx, hcpcs, list(DISTINCT source ORDER BY source) AS sources, min([origin, line_no]) AS first
    FROM dx_procedure_link GROUP BY dx, hcpcs
)
SELECT l.dx AS code,
       list({'hcpcs': l.hcpcs, 'description': f.description, 'status': f.status,
             'nonfacility_amount': f.nonfacility_amount, 'facility_amount': f.facility_amount,
             'fee': coalesce(f.nonfacility_amount, f.facility_amount),
             'fee_setting': CASE WHEN f.nonfacility_amount IS NOT NULL THEN 'non-facility'
                                 WHEN f.facility_amount IS NOT NULL THEN 'facility' END,
             'no_fee_reason': CASE WHEN f.hcpcs IS NULL THEN 'not in the Medicare PFS release'
                                   WHEN coalesce(f.nonfacility_amount, f.facility_amount) IS NULL THEN f.no_fee_reason END,
             'sources': l.sources} ORDER BY l.first) AS procedures
FROM links l LEFT JOIN fees f ON f.hcpcs = l.hcpcs
GROUP BY l.dx;

CREATE TEMP TABLE _cp_anc AS
SELECT u.code, list({'code': a.code, 'description': a.description} ORDER BY u.depth DESC) AS ancestors
FROM _cp_up u JOIN icd10cm_codes a ON a.release = (SELECT icd FROM _cp_release) AND a.code = u.ancestor
GROUP BY u.code;

CREATE TEMP TABLE _cp_kids AS
SELECT parent, list({'code': code, 'description': description, 'is_billable': is_billable} ORDER BY seq) AS kids
FROM icd10cm_codes WHERE release = (SELECT icd FROM _cp_release) AND parent IS NOT NULL
GROUP BY parent;

CREATE TABLE code_page AS
SELECT
    c.release,
    c.code,
    c.code_nodot,
    c.description,
    c.description_tabular,
    c.seventh_char,
    {'number': ch.chapter, 'title': ch.title, 'first_code': ch.first_code, 'last_code': ch.last_code} AS chapter,
    {'id': s.section, 'title': s.title}                                                             AS section,
    {'code': c.category, 'description': cat.description}                                            AS category,
    coalesce(an.ancestors, [])                                                                      AS ancestors,
    coalesce(n.notes, [])                                                                           AS notes,
    coalesce(list_filter(k.kids, lambda x: x.code <> c.code), [])                                       AS siblings,
    coalesce(g.icd9, [])                                                                            AS icd9,
    (SELECT drg_version FROM _cp_release)                                                           AS ms_drg_version,
    coalesce(d.ms_drg, [])                                                                          AS ms_drg,
    {'level': cc.level, 'exclusion_list': cc.exclusion_list, 'alive_only': cc.alive_only}           AS secondary_cc,
    (SELECT pfs FROM _cp_release)                                                                   AS pfs_release,
    coalesce(p.procedures, [])                                                                      AS procedures
FROM icd10cm_codes c
JOIN _cp_release r ON c.release = r.icd
LEFT JOIN icd10cm_chapters ch ON ch.release = c.release AND ch.chapter = c.chapter
LEFT JOIN icd10cm_sections s ON s.release = c.release AND s.section = c.section
LEFT JOIN icd10cm_codes cat ON cat.release = c.release AND cat.code = c.category
LEFT JOIN _cp_anc an ON an.code = c.code
LEFT JOIN _cp_kids k ON k.parent = c.parent
LEFT JOIN _cp_notes n ON n.code = c.code
LEFT JOIN _cp_icd9 g ON g.code = c.code
LEFT JOIN _cp_drg d ON d.code = c.code
LEFT JOIN msdrg_cc cc ON cc.version = r.drg_version AND cc.dx = c.code
LEFT JOIN _cp_proc p ON p.code = c.code
WHERE c.is_billable
ORDER BY c.seq;

DROP TABLE _cp_release;
DROP TABLE _cp_up;
DROP TABLE _cp_notes;
DROP TABLE _cp_icd9;
DROP TABLE _cp_drg;
DROP TABLE _cp_proc;
DROP TABLE _cp_anc;
DROP TABLE _cp_kids;

COMMENT ON TABLE code_page IS 'One row per valid ICD-10-CM code of the latest loaded ICD-10-CM release (with hierarchy), with everything its code page shows as nested lists: hierarchy, notes (own and inherited), siblings, ICD-9 GEM entries, MS-DRG family, CC/MCC level, related procedures with national fees. Uses the latest loaded release of each dataset; exported as parquet for apps.';
COMMENT ON COLUMN code_page.release IS 'ICD-10-CM release id.';
COMMENT ON COLUMN code_page.code IS 'Dotted code (M96.1).';
COMMENT ON COLUMN code_page.code_nodot IS 'Code without the dot (M961).';
COMMENT ON COLUMN code_page.description IS 'Official long description (code-file spelling).';
COMMENT ON COLUMN code_page.description_tabular IS 'Description as printed in the Tabular List.';
COMMENT ON COLUMN code_page.seventh_char IS '7th character, for codes made by one.';
COMMENT ON COLUMN code_page.chapter IS 'Chapter: number, title, first_code, last_code.';
COMMENT ON COLUMN code_page.section IS 'Section: id, title.';
COMMENT ON COLUMN code_page.category IS 'Category: code, description.';
COMMENT ON COLUMN code_page.ancestors IS 'Ancestors from the category down to the parent: code, description.';
COMMENT ON COLUMN code_page.notes IS 'Instructional notes that apply: type, text, referenced_codes, from_kind (chapter/section/code), from_code, inherited. Chapter, section and ancestor notes are inherited; ancestors'' inclusion terms are not.';
COMMENT ON COLUMN code_page.siblings IS 'Other code nodes with the same parent: code, description, is_billable.';
COMMENT ON COLUMN code_page.icd9 IS 'GEM entries: direction (icd10_to_icd9 = backward GEM with this code as source; icd9_to_icd10 = forward GEM with this code as target), icd9 code, approximate, no_map, combination, scenario, choice_list.';
COMMENT ON COLUMN code_page.ms_drg_version IS 'MS-DRG grouper version of ms_drg and secondary_cc (e.g. v43).';
COMMENT ON COLUMN code_page.ms_drg IS 'MS-DRGs the code leads to (Appendix B): mdc, mdc_name, drg, title, severity, weight, gmlos, amlos.';
COMMENT ON COLUMN code_page.secondary_cc IS 'As a secondary diagnosis (IPPS Table 6K): level (CC, MCC or NULL), exclusion_list, alive_only.';
COMMENT ON COLUMN code_page.pfs_release IS 'Medicare PFS release of the fees in procedures.';
COMMENT ON COLUMN code_page.procedures IS 'Related procedures (dx_procedure_link): hcpcs, description (CPT short descriptor, AMA copyright), status, nonfacility_amount, facility_amount, fee (non-facility where payable, else facility), fee_setting, no_fee_reason, sources.';

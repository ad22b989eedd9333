-- Queries of `codeetl check` (src/codeetl/check/facts.py). Each starts with "-- name: <name>" and takes
-- named parameters ($code, $release, ...).

-- name: code_row
SELECT release, code, is_billable, description, description_tabular, parent, category, chapter, seventh_char_from
FROM icd10cm_codes WHERE release = $release AND code = $code;

-- name: icd10_releases
-- Every loaded ICD-10-CM release, in date order, and whether it has headers (was loaded with a hierarchy).
SELECT r.release, r.label, r.effective_from, r.effective_to, coalesce(h.has_headers, false) AS has_headers
FROM (SELECT DISTINCT release, label, effective_from, effective_to FROM releases WHERE dataset = 'icd10cm') r
JOIN (SELECT release, bool_or(parent IS NOT NULL) AS has_headers FROM icd10cm_codes GROUP BY release) h USING (release)
ORDER BY r.effective_from;

-- name: code_everywhere
-- The code's row in every release that has it.
SELECT release, is_billable, description FROM icd10cm_codes WHERE code = $code;

-- name: siblings
SELECT code, description, is_billable FROM icd10cm_codes
WHERE release = $release AND parent = $parent AND code <> $code ORDER BY seq;

-- name: billable_below
SELECT code, description FROM icd10cm_codes
WHERE release = $release AND is_billable AND code_nodot LIKE $prefix || '%' AND code <> $code
ORDER BY seq LIMIT 12;

-- name: inclusion_terms
SELECT note FROM icd10cm_notes WHERE release = $release AND code = $code AND note_type = 'inclusionTerm' ORDER BY note_no;

-- name: all_descriptions
SELECT code, description, description_tabular FROM icd10cm_codes WHERE release = $release;

-- name: node_notes
SELECT node_kind, code, note_type, note, referenced_codes FROM icd10cm_notes
WHERE release = $release AND code = $code ORDER BY note_no;

-- name: gem_icd9_codes
SELECT target AS code FROM gem_icd10_to_icd9 WHERE target <> 'NoDx'
UNION SELECT source FROM gem_icd9_to_icd10 WHERE source <> 'NoDx';

-- name: icd9_description
SELECT release, code, description, short_description FROM icd9cm_codes
WHERE code = $code AND kind = 'diagnosis' ORDER BY release DESC LIMIT 1;

-- name: icd9_codes
SELECT DISTINCT code FROM icd9cm_codes WHERE kind = 'diagnosis';

-- name: code_history
SELECT code, valid_from, valid_to, is_billable, description, first_release, last_release
FROM icd10cm_code_history WHERE code = $code ORDER BY valid_from;

-- name: replacements
SELECT code, replaced_by, effective FROM icd10cm_replacements WHERE code = $code ORDER BY replaced_by;

-- name: drg_family
SELECT dx, mdc, mdc_name, drg, title, weight FROM dx_drg_family WHERE version = $version AND dx = $code ORDER BY mdc, drg;

-- name: drg_def
SELECT drg, mdc, title, title_ipps, weight, weight_before_cap, family, severity FROM msdrg_drg
WHERE version = $version AND drg = $drg;

-- name: pfs_item
SELECT r.release, r.hcpcs, r.description, r.status, s.meaning AS status_meaning, s.payable,
       p.nonfacility_amount, p.nonfacility_note, p.facility_amount, p.facility_note
FROM pfs_rvu r
LEFT JOIN pfs_status s ON s.status = r.status
LEFT JOIN pfs_payment p ON p.release = r.release AND p.hcpcs = r.hcpcs AND p.modifier = r.modifier AND p.locality = 'national'
WHERE r.hcpcs = $hcpcs AND r.modifier = '' AND ($release IS NULL OR r.release = $release)
ORDER BY r.release;

-- name: source_file
SELECT dataset, release, role, file_name FROM source_files
WHERE dataset = $dataset AND release = $release ORDER BY role;

-- name: release_row
SELECT DISTINCT dataset, release, label, effective_from, effective_to FROM releases
WHERE dataset = $dataset AND release = $release;

-- Batch reads for a folder of pages (the same rows as the queries above, for many codes at once).

-- name: code_rows_many
SELECT release, code, is_billable, description, description_tabular, parent, category, chapter, seventh_char_from
FROM icd10cm_codes WHERE release = $release AND code IN (SELECT unnest($codes::VARCHAR[]));

-- name: code_everywhere_many
SELECT code, release, is_billable, description FROM icd10cm_codes WHERE code IN (SELECT unnest($codes::VARCHAR[]));

-- name: inclusion_terms_many
SELECT code, note FROM icd10cm_notes WHERE release = $release AND note_type = 'inclusionTerm'
  AND code IN (SELECT unnest($codes::VARCHAR[])) ORDER BY code, note_no;

-- name: drg_family_many
SELECT dx, mdc, mdc_name, drg, title, weight FROM dx_drg_family
WHERE version = $version AND dx IN (SELECT unnest($codes::VARCHAR[])) ORDER BY dx, mdc, drg;

-- name: pfs_item_many
SELECT r.release, r.hcpcs, r.description, r.status, s.meaning AS status_meaning, s.payable,
       p.nonfacility_amount, p.nonfacility_note, p.facility_amount, p.facility_note
FROM pfs_rvu r
LEFT JOIN pfs_status s ON s.status = r.status
LEFT JOIN pfs_payment p ON p.release = r.release AND p.hcpcs = r.hcpcs AND p.modifier = r.modifier AND p.locality = 'national'
WHERE r.hcpcs IN (SELECT unnest($hcpcs::VARCHAR[])) AND r.modifier = ''
ORDER BY r.hcpcs, r.release;

-- name: billable_below_many
SELECT h.code AS header, c.code, c.description
FROM (SELECT unnest($codes::VARCHAR[]) AS code) h
JOIN icd10cm_codes c ON c.release = $release AND c.is_billable AND c.code <> h.code
     AND c.code_nodot LIKE replace(h.code, '.', '') || '%'
QUALIFY row_number() OVER (PARTITION BY h.code ORDER BY c.seq) <= 12
ORDER BY h.code, c.seq;

-- name: code_history_many
SELECT code, valid_from, valid_to, is_billable, description, first_release, last_release
FROM icd10cm_code_history WHERE code IN (SELECT unnest($codes::VARCHAR[])) ORDER BY code, valid_from;

-- name: described_like
-- Codes whose description contains each of the word starts $w1..$w8 ('' for none): the candidates of
-- described_as while the description index is not built (a single page).
SELECT code, description, description_tabular FROM icd10cm_codes
WHERE release = $release
  AND description ILIKE '%' || $w1 || '%' AND description ILIKE '%' || $w2 || '%'
  AND description ILIKE '%' || $w3 || '%' AND description ILIKE '%' || $w4 || '%'
  AND description ILIKE '%' || $w5 || '%' AND description ILIKE '%' || $w6 || '%'
  AND description ILIKE '%' || $w7 || '%' AND description ILIKE '%' || $w8 || '%';

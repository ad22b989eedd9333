-- `codeetl diff` (codeetl.pages.diff): what changed between two releases, read through the table macros
-- icd10cm_diff and msdrg_diff (datasets/icd10cm/derive_history.sql, datasets/ipps/views_history.sql).
-- Parameters are positional (?).

-- name: icd10cm_releases
SELECT h.release, r.label, r.effective_from, r.effective_to, h.seq, h.has_headers, h.has_notes
FROM icd10cm_history_releases AS h
JOIN (SELECT DISTINCT release, label, effective_from, effective_to FROM releases WHERE dataset = 'icd10cm') AS r
  ON r.release = h.release
ORDER BY h.seq;

-- name: msdrg_versions
SELECT DISTINCT r.release AS version, r.label, r.effective_from, r.effective_to
FROM releases AS r
WHERE r.dataset = 'msdrg' AND r.release IN (SELECT DISTINCT d.version FROM msdrg_drg_def AS d)
ORDER BY r.effective_from;

-- name: icd10cm_changes
SELECT change, code, is_billable, note_type, old, new
FROM icd10cm_diff(?, ?)
ORDER BY change, code, note_type, old, new;

-- name: msdrg_changes
SELECT subject_kind, change, subject, old, new
FROM msdrg_diff(?, ?)
ORDER BY subject_kind, change, subject;

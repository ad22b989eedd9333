-- Quality gates of the GEMs tables (format: see codeetl/gates.py).

-- gate: gems.files_not_empty
-- checks: each loaded GEM file gave mappings (a file holding only blank lines fails)
-- file: i9_to_i10, i10_to_i9
WITH f AS (SELECT DISTINCT release, role, file_name FROM source_files WHERE dataset = 'gems')
SELECT f.release, f.role, f.file_name FROM f
WHERE (f.role = 'i9_to_i10' AND NOT EXISTS (SELECT 1 FROM gem_icd9_to_icd10 g WHERE g.release = f.release))
   OR (f.role = 'i10_to_i9' AND NOT EXISTS (SELECT 1 FROM gem_icd10_to_icd9 g WHERE g.release = f.release))
ORDER BY 1, 2;

-- gate: gems.flags_consistent
-- checks: a no-map row has no target (NoDx), and scenario/choice list are set only on combination rows
-- file: i9_to_i10, i10_to_i9
SELECT 'gem_icd9_to_icd10' AS "table", release, line_no, source, target FROM gem_icd9_to_icd10
WHERE (no_map AND target_nodot <> 'NoDx') OR (NOT combination AND (scenario <> 0 OR choice_list <> 0))
UNION ALL
SELECT 'gem_icd10_to_icd9', release, line_no, source, target FROM gem_icd10_to_icd9
WHERE (no_map AND target_nodot <> 'NoDx') OR (NOT combination AND (scenario <> 0 OR choice_list <> 0))
ORDER BY 2, 1, 3;

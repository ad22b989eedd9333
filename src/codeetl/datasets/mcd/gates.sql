-- Quality gates of the Medicare Coverage Database tables (format: see codeetl/gates.py).

-- gate: mcd.files_not_empty
-- checks: the article table and the covered-diagnosis and HCPCS tables each gave rows (a file holding only its header fails)
-- file: article, article_x_icd10_covered, article_x_hcpc_code, export
WITH r AS (SELECT DISTINCT release FROM source_files WHERE dataset = 'mcd')
SELECT r.release, t.tbl AS "table" FROM r
CROSS JOIN (VALUES ('mcd_article'), ('mcd_article_icd10_covered'), ('mcd_article_hcpcs')) t(tbl)
WHERE (t.tbl = 'mcd_article' AND NOT EXISTS (SELECT 1 FROM mcd_article a WHERE a.release = r.release))
   OR (t.tbl = 'mcd_article_icd10_covered' AND NOT EXISTS (SELECT 1 FROM mcd_article_icd10_covered a WHERE a.release = r.release))
   OR (t.tbl = 'mcd_article_hcpcs' AND NOT EXISTS (SELECT 1 FROM mcd_article_hcpcs a WHERE a.release = r.release))
ORDER BY 1, 2;

-- gate: mcd.covered_codes_belong_to_articles
-- checks: every covered diagnosis and HCPCS row belongs to an article of the same release
-- file: article_x_icd10_covered, article_x_hcpc_code
SELECT 'mcd_article_icd10_covered' AS "table", c.release, c.article_id, c.article_version, c.icd10_code AS code
FROM mcd_article_icd10_covered c
WHERE NOT EXISTS (SELECT 1 FROM mcd_article a WHERE a.release = c.release AND a.article_id = c.article_id AND a.article_version = c.article_version)
UNION ALL
SELECT 'mcd_article_hcpcs', c.release, c.article_id, c.article_version, c.hcpcs
FROM mcd_article_hcpcs c
WHERE NOT EXISTS (SELECT 1 FROM mcd_article a WHERE a.release = c.release AND a.article_id = c.article_id AND a.article_version = c.article_version)
ORDER BY 2, 1, 3;

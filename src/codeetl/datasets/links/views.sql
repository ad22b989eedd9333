-- dx_procedure_link: every diagnosis-procedure pair any source names, MCD articles (dataset mcd) and the
-- curated files (this dataset), in one place for the pages.

CREATE OR REPLACE VIEW dx_procedure_link AS
SELECT dx, hcpcs, source, source_id, source_release, note, 1 AS origin, line_no FROM mcd_dx_procedure_link
UNION ALL
SELECT dx, hcpcs, source, source_id, source_release, note, 2 AS origin, line_no FROM curated_link;
COMMENT ON VIEW dx_procedure_link IS 'Pairs of an ICD-10-CM diagnosis and a CPT/HCPCS procedure that a source names together, one row per pair per source document: MCD billing and coding articles (mcd_dx_procedure_link: every covered ICD-10 code with every CPT/HCPCS code of the same article version; see mcd_article_code_group) and the curated files (curated_link). A link is a statement of the source, not a coverage decision.';
COMMENT ON COLUMN dx_procedure_link.dx IS 'ICD-10-CM code, dotted (M96.1).';
COMMENT ON COLUMN dx_procedure_link.hcpcs IS 'CPT/HCPCS code, 5 characters (63030).';
COMMENT ON COLUMN dx_procedure_link.source IS 'Where the link comes from: mcd_article for MCD billing and coding articles; for curated files, the file''s source column (e.g. published orthopedic code page, 2026-05-08).';
COMMENT ON COLUMN dx_procedure_link.source_id IS 'The source document: the MCD article''s public id (A57235), or the curated file name (m96.1-orthopedic-code-page.csv).';
COMMENT ON COLUMN dx_procedure_link.source_release IS 'Release of the source dataset (the mcd release id); NULL for curated files.';
COMMENT ON COLUMN dx_procedure_link.note IS 'MCD: article id, version and the ICD-10 covered group(s) and CPT/HCPCS group(s) the two codes appear in (A57235 v12; ICD-10 covered group 1; CPT/HCPCS group 1). Curated: the file''s note column.';
COMMENT ON COLUMN dx_procedure_link.origin IS '1 = MCD article, 2 = curated file: with line_no, the order pages list links in.';
COMMENT ON COLUMN dx_procedure_link.line_no IS 'Order within its origin: the pair''s position in the MCD release, or its line in the curated file.';

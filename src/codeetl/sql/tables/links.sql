-- Diagnosis-procedure links (ICD-10-CM x CPT/HCPCS) from every source: MCD billing and coding articles
-- (rows made by src/codeetl/parsers/mcd.py) and the curated CSV files of data/links/ (validated by
-- src/codeetl/links.py). Not a dataset of its own: apply this file with the other table files.

CREATE TABLE dx_procedure_link (
    dx              VARCHAR  NOT NULL,
    hcpcs           VARCHAR  NOT NULL,
    source          VARCHAR  NOT NULL,
    source_id       VARCHAR  NOT NULL,
    source_release  VARCHAR,
    note            VARCHAR
);
COMMENT ON TABLE dx_procedure_link IS 'Pairs of an ICD-10-CM diagnosis and a CPT/HCPCS procedure that a source names together, one row per pair per source document. MCD rows pair every covered ICD-10 code with every CPT/HCPCS code of the same article version (the export does not say which groups go together; see mcd_article_code_group). A link is a statement of the source, not a coverage decision.';
COMMENT ON COLUMN dx_procedure_link.dx IS 'ICD-10-CM code, dotted (M96.1).';
COMMENT ON COLUMN dx_procedure_link.hcpcs IS 'CPT/HCPCS code, 5 characters (63030).';
COMMENT ON COLUMN dx_procedure_link.source IS 'Where the link comes from: mcd_article for MCD billing and coding articles; for curated files, the file''s source column (e.g. published orthopedic code page, 2026-05-08).';
COMMENT ON COLUMN dx_procedure_link.source_id IS 'The source document: the MCD article''s public id (A57235), or the curated file name (m96.1-orthopedic-code-page.csv).';
COMMENT ON COLUMN dx_procedure_link.source_release IS 'Release of the source dataset (the mcd release id); NULL for curated files.';
COMMENT ON COLUMN dx_procedure_link.note IS 'MCD: article id, version and the ICD-10 covered group(s) and CPT/HCPCS group(s) the two codes appear in (A57235 v12; ICD-10 covered group 1; CPT/HCPCS group 1). Curated: the file''s note column.';

CREATE TABLE link_problems (
    file  VARCHAR NOT NULL,
    line  INTEGER NOT NULL,
    code  VARCHAR NOT NULL,
    why   VARCHAR NOT NULL
);
COMMENT ON TABLE link_problems IS 'Rows of the curated link files (data/links/*.csv) that were not loaded, and why: unknown or malformed codes, missing source, duplicates. Validated against the ICD-10-CM valid codes and the PFS codes loaded in this warehouse.';
COMMENT ON COLUMN link_problems.file IS 'The CSV file (name).';
COMMENT ON COLUMN link_problems.line IS 'Line number in the file (the header is line 1).';
COMMENT ON COLUMN link_problems.code IS 'The offending code (or the dx/hcpcs pair for a duplicate).';
COMMENT ON COLUMN link_problems.why IS 'What was wrong.';

CREATE TABLE link_files (
    file           VARCHAR NOT NULL,
    path           VARCHAR NOT NULL,
    bytes          BIGINT  NOT NULL,
    sha256         VARCHAR NOT NULL,
    rows_loaded    INTEGER NOT NULL,
    rows_rejected  INTEGER NOT NULL
);
COMMENT ON TABLE link_files IS 'The curated link files (data/links/*.csv) this build read: the provenance of dx_procedure_link rows whose source_id is the file name.';
COMMENT ON COLUMN link_files.file IS 'File name (dx_procedure_link.source_id of its rows).';
COMMENT ON COLUMN link_files.path IS 'Where the file was read from.';
COMMENT ON COLUMN link_files.bytes IS 'Size in bytes.';
COMMENT ON COLUMN link_files.sha256 IS 'SHA-256 of the file.';
COMMENT ON COLUMN link_files.rows_loaded IS 'Rows loaded into dx_procedure_link.';
COMMENT ON COLUMN link_files.rows_rejected IS 'Rows not loaded (see link_problems).';

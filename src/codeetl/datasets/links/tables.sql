-- Curated diagnosis-procedure links (dataset `links`): the CSV files of data/links/, validated against
-- each build (src/codeetl/datasets/links/). Not downloaded: loaded at build time from project files.
-- views.sql joins them with the MCD pairs (dataset mcd) into dx_procedure_link.

CREATE TABLE curated_link (
    dx              VARCHAR  NOT NULL,
    hcpcs           VARCHAR  NOT NULL,
    source          VARCHAR  NOT NULL,
    source_id       VARCHAR  NOT NULL,
    source_release  VARCHAR,
    note            VARCHAR,
    line_no         INTEGER  NOT NULL
);
COMMENT ON TABLE curated_link IS 'Diagnosis-procedure pairs from the curated link files (data/links/*.csv), validated against this build: one row per valid file row. Read them through dx_procedure_link, which adds the MCD pairs.';
COMMENT ON COLUMN curated_link.dx IS 'ICD-10-CM code, dotted (M96.1).';
COMMENT ON COLUMN curated_link.hcpcs IS 'CPT/HCPCS code, 5 characters (63030).';
COMMENT ON COLUMN curated_link.source IS 'The file''s source column: who names the pair (e.g. published orthopedic code page, 2026-05-08).';
COMMENT ON COLUMN curated_link.source_id IS 'The curated file name (m96.1-orthopedic-code-page.csv).';
COMMENT ON COLUMN curated_link.source_release IS 'Always NULL (curated files have no release); kept so the columns equal mcd_dx_procedure_link''s.';
COMMENT ON COLUMN curated_link.note IS 'The file''s note column.';
COMMENT ON COLUMN curated_link.line_no IS 'Line of the row in its file (the header is line 1).';

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
COMMENT ON TABLE link_files IS 'The curated link files (data/links/*.csv) this build read: the provenance of curated_link rows (source_id = file name).';
COMMENT ON COLUMN link_files.file IS 'File name (curated_link.source_id of its rows).';
COMMENT ON COLUMN link_files.path IS 'Where the file was read from.';
COMMENT ON COLUMN link_files.bytes IS 'Size in bytes.';
COMMENT ON COLUMN link_files.sha256 IS 'SHA-256 of the file.';
COMMENT ON COLUMN link_files.rows_loaded IS 'Rows loaded into curated_link.';
COMMENT ON COLUMN link_files.rows_rejected IS 'Rows not loaded (see link_problems).';

-- Medicare Coverage Database billing and coding articles (dataset `mcd`): the code tables of CMS's
-- "Current Articles" export (current_article.zip > current_article_csv.zip). Layout and pairing rules:
-- src/codeetl/parsers/mcd.py. The diagnosis x procedure pairs made from them are
-- mcd_dx_procedure_link (read through the dx_procedure_link view of dataset links). CPT descriptions in the export are AMA-copyrighted (CMS requires accepting the
-- AMA/ADA license to download it).

CREATE TABLE mcd_article (
    release          VARCHAR  NOT NULL,
    article_id       BIGINT   NOT NULL,
    article_version  INTEGER  NOT NULL,
    display_id       VARCHAR  NOT NULL,
    title            VARCHAR  NOT NULL,
    article_type     VARCHAR,
    status           VARCHAR,
    effective_date   DATE,
    end_date         DATE,
    last_updated     DATE,
    PRIMARY KEY (release, article_id, article_version)
);
COMMENT ON TABLE mcd_article IS 'MCD articles (billing and coding articles and others) of the Current Articles export, one row per article version (article.csv).';
COMMENT ON COLUMN mcd_article.release IS 'Release id from the source catalog (current: the weekly export downloaded when the warehouse was built; see the releases table for the date).';
COMMENT ON COLUMN mcd_article.article_id IS 'MCD article number (article_id), e.g. 57235.';
COMMENT ON COLUMN mcd_article.article_version IS 'Article version number.';
COMMENT ON COLUMN mcd_article.display_id IS 'Public article id as shown on the MCD site: A + number (A57235); from display_id when the export has it.';
COMMENT ON COLUMN mcd_article.title IS 'Article title, e.g. Billing and Coding: ...';
COMMENT ON COLUMN mcd_article.article_type IS 'Article type code as exported (article_type; names in the export''s article_type_lookup.csv).';
COMMENT ON COLUMN mcd_article.status IS 'Article status code as exported (status).';
COMMENT ON COLUMN mcd_article.effective_date IS 'Date the article version takes effect (article_eff_date).';
COMMENT ON COLUMN mcd_article.end_date IS 'Date the article version ends (article_end_date); NULL when open-ended.';
COMMENT ON COLUMN mcd_article.last_updated IS 'Date part of the row''s last_updated timestamp.';

CREATE TABLE mcd_article_icd10_covered (
    release          VARCHAR  NOT NULL,
    article_id       BIGINT   NOT NULL,
    article_version  INTEGER  NOT NULL,
    icd10_code       VARCHAR  NOT NULL,
    covered_group    INTEGER  NOT NULL,
    range_flag       VARCHAR,
    sort_order       INTEGER,
    description      VARCHAR,
    asterisk         VARCHAR,
    line_no          INTEGER  NOT NULL
);
COMMENT ON TABLE mcd_article_icd10_covered IS 'ICD-10-CM codes that support medical necessity in an MCD article (article_x_icd10_covered.csv), by covered group.';
COMMENT ON COLUMN mcd_article_icd10_covered.release IS 'Release id from the source catalog.';
COMMENT ON COLUMN mcd_article_icd10_covered.article_id IS 'MCD article number (see mcd_article).';
COMMENT ON COLUMN mcd_article_icd10_covered.article_version IS 'Article version number.';
COMMENT ON COLUMN mcd_article_icd10_covered.icd10_code IS 'Covered ICD-10-CM code, dotted (M96.1).';
COMMENT ON COLUMN mcd_article_icd10_covered.covered_group IS 'ICD-10 covered group number within the article (icd10_covered_group); its instructions are in mcd_article_code_group. Not paired with CPT/HCPCS group numbers.';
COMMENT ON COLUMN mcd_article_icd10_covered.range_flag IS 'The export''s range column, as exported.';
COMMENT ON COLUMN mcd_article_icd10_covered.sort_order IS 'Display order within the group (sort_order).';
COMMENT ON COLUMN mcd_article_icd10_covered.description IS 'Code description as printed in the article.';
COMMENT ON COLUMN mcd_article_icd10_covered.asterisk IS 'The export''s asterisk column (a marker referring to the group''s asterisk explanation), as exported.';
COMMENT ON COLUMN mcd_article_icd10_covered.line_no IS 'Line of the row in article_x_icd10_covered.csv.';

CREATE TABLE mcd_article_hcpcs (
    release            VARCHAR  NOT NULL,
    article_id         BIGINT   NOT NULL,
    article_version    INTEGER  NOT NULL,
    hcpcs              VARCHAR  NOT NULL,
    hcpcs_group        INTEGER  NOT NULL,
    range_flag         VARCHAR,
    short_description  VARCHAR,
    long_description   VARCHAR,
    line_no            INTEGER  NOT NULL
);
COMMENT ON TABLE mcd_article_hcpcs IS 'CPT/HCPCS codes an MCD article applies to (article_x_hcpc_code.csv), by code group. CPT descriptions are copyright American Medical Association.';
COMMENT ON COLUMN mcd_article_hcpcs.release IS 'Release id from the source catalog.';
COMMENT ON COLUMN mcd_article_hcpcs.article_id IS 'MCD article number (see mcd_article).';
COMMENT ON COLUMN mcd_article_hcpcs.article_version IS 'Article version number.';
COMMENT ON COLUMN mcd_article_hcpcs.hcpcs IS 'CPT/HCPCS code, 5 characters (hcpc_code_id).';
COMMENT ON COLUMN mcd_article_hcpcs.hcpcs_group IS 'CPT/HCPCS group number within the article (hcpc_code_group); its instructions are in mcd_article_code_group.';
COMMENT ON COLUMN mcd_article_hcpcs.range_flag IS 'The export''s range column, as exported.';
COMMENT ON COLUMN mcd_article_hcpcs.short_description IS 'Short description as exported (AMA-copyrighted for CPT codes).';
COMMENT ON COLUMN mcd_article_hcpcs.long_description IS 'Long description as exported (AMA-copyrighted for CPT codes).';
COMMENT ON COLUMN mcd_article_hcpcs.line_no IS 'Line of the row in article_x_hcpc_code.csv.';

CREATE TABLE mcd_article_code_group (
    release          VARCHAR  NOT NULL,
    article_id       BIGINT   NOT NULL,
    article_version  INTEGER  NOT NULL,
    code_kind        VARCHAR  NOT NULL,
    group_no         INTEGER  NOT NULL,
    paragraph        VARCHAR  NOT NULL
);
COMMENT ON TABLE mcd_article_code_group IS 'The instructions printed above each code group of an MCD article (article_x_icd10_covered_group.csv, article_x_hcpc_code_group.csv): the only statement of which diagnoses go with which procedures.';
COMMENT ON COLUMN mcd_article_code_group.release IS 'Release id from the source catalog.';
COMMENT ON COLUMN mcd_article_code_group.article_id IS 'MCD article number.';
COMMENT ON COLUMN mcd_article_code_group.article_version IS 'Article version number.';
COMMENT ON COLUMN mcd_article_code_group.code_kind IS 'icd10_covered (an ICD-10 covered group) or hcpcs (a CPT/HCPCS group).';
COMMENT ON COLUMN mcd_article_code_group.group_no IS 'Group number, as in mcd_article_icd10_covered.covered_group or mcd_article_hcpcs.hcpcs_group.';
COMMENT ON COLUMN mcd_article_code_group.paragraph IS 'The group paragraph as plain text (HTML tags removed, entities decoded).';

CREATE TABLE mcd_dx_procedure_link (
    dx              VARCHAR  NOT NULL,
    hcpcs           VARCHAR  NOT NULL,
    source          VARCHAR  NOT NULL,
    source_id       VARCHAR  NOT NULL,
    source_release  VARCHAR,
    note            VARCHAR,
    line_no         INTEGER  NOT NULL
);
COMMENT ON TABLE mcd_dx_procedure_link IS 'Diagnosis-procedure pairs of MCD billing and coding articles, one row per pair per article version: they pair every covered ICD-10 code with every CPT/HCPCS code of the same article version (the export does not say which groups go together; see mcd_article_code_group). A link is a statement of the source, not a coverage decision.';
COMMENT ON COLUMN mcd_dx_procedure_link.dx IS 'ICD-10-CM code, dotted (M96.1).';
COMMENT ON COLUMN mcd_dx_procedure_link.hcpcs IS 'CPT/HCPCS code, 5 characters (63030).';
COMMENT ON COLUMN mcd_dx_procedure_link.source IS 'Always mcd_article.';
COMMENT ON COLUMN mcd_dx_procedure_link.source_id IS 'The MCD article''s public id (A57235).';
COMMENT ON COLUMN mcd_dx_procedure_link.source_release IS 'The mcd release id.';
COMMENT ON COLUMN mcd_dx_procedure_link.note IS 'Article id, version and the ICD-10 covered group(s) and CPT/HCPCS group(s) the two codes appear in (A57235 v12; ICD-10 covered group 1; CPT/HCPCS group 1).';
COMMENT ON COLUMN mcd_dx_procedure_link.line_no IS 'Order of the pair within the release (by article, version, dx, hcpcs).';

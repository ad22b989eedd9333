-- MS-DRG Definitions Manual (text version), Appendix A and Appendix B, plus the list of MDCs.
-- Loaded by codeetl.parsers.msdrg; version = grouper version (v43 = FY2026).

CREATE TABLE msdrg_drg_def (
    version  VARCHAR NOT NULL,
    drg      VARCHAR NOT NULL,
    mdc      VARCHAR,
    type     VARCHAR,
    title    VARCHAR NOT NULL,
    PRIMARY KEY (version, drg)
);

COMMENT ON TABLE msdrg_drg_def IS 'MS-DRGs of a grouper version, from Appendix A of the MS-DRG Definitions Manual (appendix_A.txt): one row per MS-DRG with its MDC, medical/surgical type and title.';
COMMENT ON COLUMN msdrg_drg_def.version IS 'MS-DRG grouper version (v43 = FY2026, effective 2025-10-01).';
COMMENT ON COLUMN msdrg_drg_def.drg IS 'MS-DRG number, 3 characters with leading zeros (001, 551).';
COMMENT ON COLUMN msdrg_drg_def.mdc IS 'Major Diagnostic Category, 2 characters (08); NULL where Appendix A prints none: Pre-MDC DRGs 001-019 (PRE in Appendix B and IPPS Table 5) and DRGs assigned from any MDC (981-989, 998, 999).';
COMMENT ON COLUMN msdrg_drg_def.type IS 'As printed in Appendix A: M = medical, P = surgical (CMS uses P for surgical); NULL for 998 and 999.';
COMMENT ON COLUMN msdrg_drg_def.title IS 'MS-DRG title as printed in Appendix A (mixed case, e.g. Medical Back Problems with MCC).';

CREATE TABLE msdrg_mdc (
    version  VARCHAR NOT NULL,
    mdc      VARCHAR NOT NULL,
    name     VARCHAR NOT NULL,
    PRIMARY KEY (version, mdc)
);

COMMENT ON TABLE msdrg_mdc IS 'Major Diagnostic Categories and their names. Not in appendix_A.txt/appendix_B.txt: taken from the Definitions Manual''s list of MDCs, kept in codeetl/sql/msdrg_mdc.csv.';
COMMENT ON COLUMN msdrg_mdc.version IS 'MS-DRG grouper version the list is loaded for.';
COMMENT ON COLUMN msdrg_mdc.mdc IS 'MDC: 01-25, or PRE for the Pre-MDC group.';
COMMENT ON COLUMN msdrg_mdc.name IS 'MDC name (e.g. Diseases and Disorders of the Musculoskeletal System and Connective Tissue).';

CREATE TABLE msdrg_dx_drg (
    version  VARCHAR NOT NULL,
    dx       VARCHAR NOT NULL,
    mdc      VARCHAR NOT NULL,
    drg      VARCHAR NOT NULL
    -- one row per (version, dx, mdc, drg): the gate msdrg.unique_keys checks it (a PRIMARY KEY's index cost 3.6 s
    -- of every build's load, for 1.9 million rows; the gate 0.3 s)
);

COMMENT ON TABLE msdrg_dx_drg IS 'Appendix B of the MS-DRG Definitions Manual (Diagnosis Code/MDC/MS-DRG Index): one row per diagnosis per MS-DRG whose logic it is used in, as principal or as secondary diagnosis. Printed ranges (371-373) are expanded to every MS-DRG of Appendix A in the range (numbers without an MS-DRG are skipped).';
COMMENT ON COLUMN msdrg_dx_drg.version IS 'MS-DRG grouper version (v43 = FY2026).';
COMMENT ON COLUMN msdrg_dx_drg.dx IS 'ICD-10-CM code, dotted display form (M96.1).';
COMMENT ON COLUMN msdrg_dx_drg.mdc IS 'MDC of this line of the index: 01-25, or PRE (printed Pre in Appendix B).';
COMMENT ON COLUMN msdrg_dx_drg.drg IS 'MS-DRG number, 3 characters (551).';

CREATE TABLE msdrg_dx (
    version      VARCHAR NOT NULL,
    dx           VARCHAR NOT NULL,
    description  VARCHAR NOT NULL
    -- one row per (version, dx): the gate msdrg.unique_keys checks it (no PRIMARY KEY index: see msdrg_dx_drg)
);

COMMENT ON TABLE msdrg_dx IS 'Diagnosis codes listed in Appendix B of the MS-DRG Definitions Manual, with the description printed there.';
COMMENT ON COLUMN msdrg_dx.version IS 'MS-DRG grouper version (v43 = FY2026).';
COMMENT ON COLUMN msdrg_dx.dx IS 'ICD-10-CM code, dotted display form (M96.1).';
COMMENT ON COLUMN msdrg_dx.description IS 'ICD-10-CM description as printed in Appendix B.';

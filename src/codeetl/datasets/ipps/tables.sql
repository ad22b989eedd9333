-- IPPS final-rule tables: Table 5 (MS-DRG relative weights and lengths of stay) and Tables 6I/6J/6K
-- (CC and MCC lists, CC exclusions). Loaded by codeetl.parsers.ipps. The version column is the MS-DRG
-- grouper version the fiscal year uses (FY2026 -> v43), so these tables join the msdrg_* tables.

CREATE TABLE msdrg_drg_weight (
    version            VARCHAR      NOT NULL,
    fiscal_year        SMALLINT     NOT NULL,
    drg                VARCHAR      NOT NULL,
    post_acute         BOOLEAN      NOT NULL,
    special_pay        BOOLEAN      NOT NULL,
    mdc                VARCHAR,
    type               VARCHAR,
    title              VARCHAR      NOT NULL,
    weight_before_cap  DECIMAL(8,4),
    weight             DECIMAL(8,4),
    gmlos              DECIMAL(5,1),
    amlos              DECIMAL(5,1),
    PRIMARY KEY (version, drg)
);

COMMENT ON TABLE msdrg_drg_weight IS 'IPPS final rule Table 5: each MS-DRG of the fiscal year with its post-acute and special-pay flags, MDC, type, relative weights and geometric/arithmetic mean length of stay. Decimals exactly as printed.';
COMMENT ON COLUMN msdrg_drg_weight.version IS 'MS-DRG grouper version used in the fiscal year (v43 for FY2026).';
COMMENT ON COLUMN msdrg_drg_weight.fiscal_year IS 'Federal fiscal year of the final rule (2026 = discharges 2025-10-01 to 2026-09-30), as printed in the table header.';
COMMENT ON COLUMN msdrg_drg_weight.drg IS 'MS-DRG number, 3 characters (551).';
COMMENT ON COLUMN msdrg_drg_weight.post_acute IS 'Post-acute care transfer DRG (Yes in Table 5): a stay shorter than the GMLOS minus one day that ends in a transfer to post-acute care is paid per diem, not the full DRG payment (42 CFR 412.4).';
COMMENT ON COLUMN msdrg_drg_weight.special_pay IS 'Special-pay post-acute transfer DRG (Yes in Table 5): a transfer is paid 50% of the full DRG payment plus the per diem for the first day, then 50% of the per diem per day, up to the full payment (42 CFR 412.4(f)).';
COMMENT ON COLUMN msdrg_drg_weight.mdc IS 'MDC as printed in Table 5: 01-25 or PRE; NULL where blank (981-989, 998, 999).';
COMMENT ON COLUMN msdrg_drg_weight.type IS 'MED or SURG as printed in Table 5; NULL for 998 and 999 (printed **).';
COMMENT ON COLUMN msdrg_drg_weight.title IS 'MS-DRG title as printed in Table 5 (upper case).';
COMMENT ON COLUMN msdrg_drg_weight.weight_before_cap IS 'Relative weight before the 10% cap on year-over-year weight decreases (Weights - Before Cap); NULL where printed . (998, 999).';
COMMENT ON COLUMN msdrg_drg_weight.weight IS 'Relative weight used for payment: Weights - 10% Cap Applied (a DRG''s weight may not fall more than 10% from the prior year); NULL where printed . (998, 999).';
COMMENT ON COLUMN msdrg_drg_weight.gmlos IS 'Geometric mean length of stay, days; NULL where printed . (998, 999).';
COMMENT ON COLUMN msdrg_drg_weight.amlos IS 'Arithmetic mean length of stay, days; NULL where blank (998, 999).';

CREATE TABLE msdrg_cc (
    version         VARCHAR NOT NULL,
    dx              VARCHAR NOT NULL,
    level           VARCHAR NOT NULL,
    exclusion_list  INTEGER,
    alive_only      BOOLEAN NOT NULL,
    description     VARCHAR NOT NULL,
    PRIMARY KEY (version, dx)
);

COMMENT ON TABLE msdrg_cc IS 'Diagnoses that are a complication or comorbidity (CC) or a major CC (MCC) as secondary diagnosis: IPPS Table 6K part 1 (level and PDX exclusion list), checked code for code against Tables 6I (MCC list) and 6J (CC list); alive_only from 6K part 2.';
COMMENT ON COLUMN msdrg_cc.version IS 'MS-DRG grouper version (v43 for FY2026).';
COMMENT ON COLUMN msdrg_cc.dx IS 'ICD-10-CM code, dotted display form.';
COMMENT ON COLUMN msdrg_cc.level IS 'CC or MCC.';
COMMENT ON COLUMN msdrg_cc.exclusion_list IS 'Number of the PDX exclusion list (Table 6K PDX collection, printed 0002 -> 2): when the principal diagnosis is on this list (msdrg_cc_exclusion), dx does not count as CC/MCC. NULL when Table 6K prints No Excl.';
COMMENT ON COLUMN msdrg_cc.alive_only IS 'Table 6K part 2: dx counts as CC/MCC only if the patient is discharged alive.';
COMMENT ON COLUMN msdrg_cc.description IS 'ICD-10-CM description as printed in Table 6K part 1.';

CREATE TABLE msdrg_cc_exclusion (
    version         VARCHAR NOT NULL,
    exclusion_list  INTEGER NOT NULL,
    pdx             VARCHAR NOT NULL,
    PRIMARY KEY (version, exclusion_list, pdx)
);

COMMENT ON TABLE msdrg_cc_exclusion IS 'IPPS Table 6K PDX collections (CC exclusion lists): a CC/MCC secondary diagnosis whose msdrg_cc.exclusion_list is listed here with the principal diagnosis pdx is treated as a non-CC.';
COMMENT ON COLUMN msdrg_cc_exclusion.version IS 'MS-DRG grouper version (v43 for FY2026).';
COMMENT ON COLUMN msdrg_cc_exclusion.exclusion_list IS 'PDX collection number (printed 0002 -> 2); joins msdrg_cc.exclusion_list.';
COMMENT ON COLUMN msdrg_cc_exclusion.pdx IS 'Principal diagnosis (ICD-10-CM, dotted) on the list.';

CREATE TABLE msdrg_cc_drg_exclusion (
    version    VARCHAR NOT NULL,
    mdc        VARCHAR NOT NULL,
    drg_first  VARCHAR NOT NULL,
    drg_last   VARCHAR NOT NULL,
    drg_group  VARCHAR NOT NULL,
    dx         VARCHAR NOT NULL,
    PRIMARY KEY (version, drg_first, drg_last, dx)
);

COMMENT ON TABLE msdrg_cc_drg_exclusion IS 'IPPS Table 6K part 3 (Secondary Diagnosis CC/MCC Severity Exclusions in Select MS-DRGs): secondary diagnoses that do not count as CC/MCC when the case groups to one of the MS-DRGs drg_first..drg_last.';
COMMENT ON COLUMN msdrg_cc_drg_exclusion.version IS 'MS-DRG grouper version (v43 for FY2026).';
COMMENT ON COLUMN msdrg_cc_drg_exclusion.mdc IS 'MDC of the MS-DRG group, as printed (01-25).';
COMMENT ON COLUMN msdrg_cc_drg_exclusion.drg_first IS 'First MS-DRG of the group, 3 characters (082).';
COMMENT ON COLUMN msdrg_cc_drg_exclusion.drg_last IS 'Last MS-DRG of the group, 3 characters (084); equals drg_first for a single DRG. Compare with drg BETWEEN drg_first AND drg_last.';
COMMENT ON COLUMN msdrg_cc_drg_exclusion.drg_group IS 'Title of the MS-DRG group as printed in Table 6K part 3 (Traumatic Stupor and Coma >1 Hour).';
COMMENT ON COLUMN msdrg_cc_drg_exclusion.dx IS 'Secondary diagnosis (ICD-10-CM, dotted) that is not a CC/MCC in these MS-DRGs.';

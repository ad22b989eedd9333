-- Medicare Physician Fee Schedule tables (dataset `pfs`), one set per quarterly release (2026-B = CY2026
-- April). Built from the PFS Relative Value Files zip: the national RVU file (PPRRVU*), Addendum E
-- (GPCI*) and the locality/county crosswalk (*LOCCO). Layouts and rules: src/codeetl/parsers/pfs.py.
-- Payment amounts are computed in the pfs_payment view (sql/views/30_pfs.sql), not stored.

CREATE TABLE pfs_rvu (
    release                VARCHAR       NOT NULL,
    hcpcs                  VARCHAR       NOT NULL,
    modifier               VARCHAR       NOT NULL,
    description            VARCHAR       NOT NULL,
    status                 VARCHAR       NOT NULL,
    not_used_for_medicare  BOOLEAN       NOT NULL,
    work_rvu               DECIMAL(5,2)  NOT NULL,
    nonfacility_pe_rvu     DECIMAL(5,2)  NOT NULL,
    nonfacility_na         BOOLEAN       NOT NULL,
    facility_pe_rvu        DECIMAL(5,2)  NOT NULL,
    facility_na            BOOLEAN       NOT NULL,
    mp_rvu                 DECIMAL(5,2)  NOT NULL,
    nonfacility_total      DECIMAL(5,2)  NOT NULL,
    facility_total         DECIMAL(5,2)  NOT NULL,
    pctc_indicator         VARCHAR       NOT NULL,
    global_days            VARCHAR       NOT NULL,
    preop_pct              DECIMAL(3,2)  NOT NULL,
    intraop_pct            DECIMAL(3,2)  NOT NULL,
    postop_pct             DECIMAL(3,2)  NOT NULL,
    mult_proc              VARCHAR       NOT NULL,
    bilat_surg             VARCHAR       NOT NULL,
    asst_surg              VARCHAR       NOT NULL,
    co_surg                VARCHAR       NOT NULL,
    team_surg              VARCHAR       NOT NULL,
    pricing_indicator      VARCHAR,
    endo_base              VARCHAR,
    conversion_factor      DECIMAL(8,4)  NOT NULL,
    phys_supervision       VARCHAR       NOT NULL,
    calc_flag              VARCHAR       NOT NULL,
    diag_imaging_family    VARCHAR       NOT NULL,
    nonfacility_pe_opps    DECIMAL(5,2)  NOT NULL,
    facility_pe_opps       DECIMAL(5,2)  NOT NULL,
    mp_opps                DECIMAL(5,2)  NOT NULL,
    line_no                INTEGER       NOT NULL,
    PRIMARY KEY (release, hcpcs, modifier)
);
COMMENT ON TABLE pfs_rvu IS 'Medicare PFS national relative value units and payment policy indicators, one row per HCPCS code + modifier per release (CMS PPRRVU file). CPT codes and descriptions only are copyright 2026 American Medical Association. All rights reserved. Applicable FARS/DFARS apply. All dental codes copyright 2025/26 American Dental Association, all rights reserved. (The notices as RVU26B words them; each release''s own notice, with the years its file states, is in pfs_notice.)';
COMMENT ON COLUMN pfs_rvu.release IS 'Release id from the source catalog: <year>-<A|B|C|D> (A January, B April, C July, D October), e.g. 2026-B = CMS RVU26B.';
COMMENT ON COLUMN pfs_rvu.hcpcs IS 'CPT (Level I) or Level II HCPCS code, 5 characters (RVU file columns 1-5).';
COMMENT ON COLUMN pfs_rvu.modifier IS 'Modifier with separate RVUs: 26 professional component, TC technical component, 53 discontinued procedure; empty string for the global service (columns 6-7).';
COMMENT ON COLUMN pfs_rvu.description IS 'Short descriptor as printed in the RVU file (columns 8-57). CPT descriptors are AMA-copyrighted, dental descriptors ADA-copyrighted: show them with the release''s notice (pfs_notice).';
COMMENT ON COLUMN pfs_rvu.status IS 'PFS status code (column 58), meanings in view pfs_status (RVU PDF Attachment A): only RVUs of status A, R and T are used for Medicare payment.';
COMMENT ON COLUMN pfs_rvu.not_used_for_medicare IS 'True where the file marks the row with + (column 59; CSV column NOT USED FOR MEDICARE PAYMENT): RVUs are shown but are not used for Medicare payment (e.g. status I code 97014).';
COMMENT ON COLUMN pfs_rvu.work_rvu IS 'Work RVU (physician work), columns 60-65.';
COMMENT ON COLUMN pfs_rvu.nonfacility_pe_rvu IS 'Practice expense RVU for the non-facility setting (office), columns 67-72.';
COMMENT ON COLUMN pfs_rvu.nonfacility_na IS 'True where the non-facility NA indicator is NA (columns 73-74): rarely or never performed in the non-facility setting, so no non-facility amount is paid.';
COMMENT ON COLUMN pfs_rvu.facility_pe_rvu IS 'Practice expense RVU for the facility setting (hospital, ASC, SNF...), columns 76-81.';
COMMENT ON COLUMN pfs_rvu.facility_na IS 'True where the facility NA indicator is NA (columns 82-83): rarely or never performed in the facility setting.';
COMMENT ON COLUMN pfs_rvu.mp_rvu IS 'Malpractice (professional liability) RVU, columns 85-89.';
COMMENT ON COLUMN pfs_rvu.nonfacility_total IS 'Total non-facility RVUs = work + non-facility PE + MP (columns 91-96; equal to the sum in every row of 2025-D and 2026-B).';
COMMENT ON COLUMN pfs_rvu.facility_total IS 'Total facility RVUs = work + facility PE + MP (columns 97-102).';
COMMENT ON COLUMN pfs_rvu.pctc_indicator IS 'PC/TC indicator (column 103): 0 physician service, 1 diagnostic test with PC/TC split, 2 professional component only, 3 technical component only, 4 global test only, 5 incident to, 6 lab physician interpretation, 7 physical therapy not payable in hospital, 8 physician interpretation (85060), 9 not applicable.';
COMMENT ON COLUMN pfs_rvu.global_days IS 'Global surgery period (columns 104-106): 000, 010, 090 days; MMM maternity; XXX global concept does not apply; YYY carrier-determined; ZZZ included in another service''s global period.';
COMMENT ON COLUMN pfs_rvu.preop_pct IS 'Preoperative share of the global package, as a fraction (0.11 = 11%), columns 107-109.';
COMMENT ON COLUMN pfs_rvu.intraop_pct IS 'Intraoperative share of the global package (including postoperative work in the hospital), columns 110-112.';
COMMENT ON COLUMN pfs_rvu.postop_pct IS 'Postoperative share of the global package (office visits after discharge), columns 113-115.';
COMMENT ON COLUMN pfs_rvu.mult_proc IS 'Multiple procedure indicator, modifier 51 (column 116): 0 no adjustment, 2 standard reduction, 3 endoscopy family, 4 diagnostic imaging, 5 therapy PE reduction, 6 cardiovascular TC, 7 ophthalmology TC, 9 n/a.';
COMMENT ON COLUMN pfs_rvu.bilat_surg IS 'Bilateral surgery indicator, modifier 50 (column 117): 0 no 150% adjustment, 1 150% adjustment applies, 2 RVUs already bilateral, 3 each side paid at 100%, 9 n/a.';
COMMENT ON COLUMN pfs_rvu.asst_surg IS 'Assistant at surgery indicator (column 118): 0 paid with documentation of medical necessity, 1 statutory restriction (not paid), 2 may be paid, 9 n/a.';
COMMENT ON COLUMN pfs_rvu.co_surg IS 'Co-surgeons indicator, modifier 62 (column 119): 0 not permitted, 1 permitted with documentation, 2 permitted, 9 n/a.';
COMMENT ON COLUMN pfs_rvu.team_surg IS 'Team surgery indicator, modifier 66 (column 120): 0 not permitted, 1 with documentation (by report), 2 permitted (by report), 9 n/a.';
COMMENT ON COLUMN pfs_rvu.pricing_indicator IS 'Pricing indicator (column 121, CY2026 on): 1 QPP indicator applies to qualifying providers, 9 n/a; NULL in releases without the field.';
COMMENT ON COLUMN pfs_rvu.endo_base IS 'Endoscopic base code for codes with multiple procedure indicator 3 (columns 128-132); NULL when blank.';
COMMENT ON COLUMN pfs_rvu.conversion_factor IS 'Conversion factor carried by the record (columns 133-140), dollars per RVU: 32.3465 in 2025-D; 33.4009 in 2026-B (the non-qualifying-APM factor of the nonQPP file).';
COMMENT ON COLUMN pfs_rvu.phys_supervision IS 'Physician supervision of diagnostic procedures (columns 142-143): 01 general, 02 direct, 03 personal, 04-06, 21, 22, 66, 6A, 77, 7A as in the RVU PDF, 09 n/a.';
COMMENT ON COLUMN pfs_rvu.calc_flag IS 'Calculation flag (column 144): 0 for every code since July 1, 2014.';
COMMENT ON COLUMN pfs_rvu.diag_imaging_family IS 'Diagnostic imaging family indicator (columns 146-147): 88 subject to the multiple-procedure imaging reduction, 99 n/a (01-11 retired).';
COMMENT ON COLUMN pfs_rvu.nonfacility_pe_opps IS 'Non-facility PE RVU used for the OPPS imaging payment cap (DRA 2005 section 5102(b)), columns 152-157; 0.00 when the cap does not apply.';
COMMENT ON COLUMN pfs_rvu.facility_pe_opps IS 'Facility PE RVU used for the OPPS imaging payment cap, columns 159-164.';
COMMENT ON COLUMN pfs_rvu.mp_opps IS 'MP RVU used for the OPPS imaging payment cap, columns 166-171.';
COMMENT ON COLUMN pfs_rvu.line_no IS 'Line number of the record in the source file (fixed-width .txt, or the .csv when the release has no .txt).';

CREATE TABLE pfs_gpci (
    release                  VARCHAR       NOT NULL,
    mac                      VARCHAR       NOT NULL,
    locality                 VARCHAR       NOT NULL,
    locality_name            VARCHAR       NOT NULL,
    state                    VARCHAR       NOT NULL,
    work_gpci                DECIMAL(5,3)  NOT NULL,
    work_gpci_without_floor  DECIMAL(5,3),
    pe_gpci                  DECIMAL(5,3)  NOT NULL,
    mp_gpci                  DECIMAL(5,3)  NOT NULL,
    note                     VARCHAR,
    line_no                  INTEGER       NOT NULL,
    PRIMARY KEY (release, mac, locality)
);
COMMENT ON TABLE pfs_gpci IS 'Geographic practice cost indices by Medicare payment locality (PFS Addendum E, GPCI<year>.csv), one row per MAC + locality per release.';
COMMENT ON COLUMN pfs_gpci.release IS 'PFS release id, e.g. 2026-B.';
COMMENT ON COLUMN pfs_gpci.mac IS 'Medicare Administrative Contractor number, 5 digits with leading zeros (01112).';
COMMENT ON COLUMN pfs_gpci.locality IS 'Locality number within the MAC, 2 digits with leading zeros (05). The locality key is mac + locality; pfs_payment writes it as ''01112-05''.';
COMMENT ON COLUMN pfs_gpci.locality_name IS 'Locality name as published, without the footnote asterisks (see note).';
COMMENT ON COLUMN pfs_gpci.state IS 'Two-letter state (or territory) code.';
COMMENT ON COLUMN pfs_gpci.work_gpci IS 'Physician work GPCI used by pfs_payment: the file''s "PW GPCI (with 1.0 Floor)" column (the only work GPCI CY2025 files give).';
COMMENT ON COLUMN pfs_gpci.work_gpci_without_floor IS 'Work GPCI without the 1.0 floor, where the file also gives it (GPCI2026.csv: "the work GPCI floor of 1.0 ... was extended through January 31, 2026 by Section 6207 of ... H.R.5371"); NULL otherwise. For services after a lapse of the floor, use this column instead of work_gpci.';
COMMENT ON COLUMN pfs_gpci.pe_gpci IS 'Practice expense GPCI.';
COMMENT ON COLUMN pfs_gpci.mp_gpci IS 'Malpractice GPCI.';
COMMENT ON COLUMN pfs_gpci.note IS 'The file''s footnote for this locality (marked * or ** after the name), e.g. the 1.5 Alaska work floor (MIPPA) or the 1.0 frontier-state PE floor (ACA); NULL when none.';
COMMENT ON COLUMN pfs_gpci.line_no IS 'Line number in the GPCI CSV.';

CREATE TABLE pfs_locality (
    release            VARCHAR  NOT NULL,
    mac                VARCHAR  NOT NULL,
    locality           VARCHAR  NOT NULL,
    state              VARCHAR  NOT NULL,
    fee_schedule_area  VARCHAR  NOT NULL,
    counties           VARCHAR  NOT NULL,
    note               VARCHAR,
    line_no            INTEGER  NOT NULL,
    PRIMARY KEY (release, mac, locality)
);
COMMENT ON TABLE pfs_locality IS 'Counties included in each Medicare PFS payment locality (<yy>LOCCO.csv), one row per MAC + locality per release. Not every release copy includes the file (the offline 2026-B copy does not).';
COMMENT ON COLUMN pfs_locality.release IS 'PFS release id, e.g. 2025-D.';
COMMENT ON COLUMN pfs_locality.mac IS 'Medicare Administrative Contractor number, 5 digits (leading zeros restored: the CSV prints 2102 for 02102).';
COMMENT ON COLUMN pfs_locality.locality IS 'Locality number, 2 digits (leading zero restored); joins pfs_gpci on release, mac, locality.';
COMMENT ON COLUMN pfs_locality.state IS 'State name as printed (ALABAMA, HAWAII/GUAM); the file prints it once per state and it is carried down to the state''s other localities.';
COMMENT ON COLUMN pfs_locality.fee_schedule_area IS 'Fee schedule area name, e.g. STATEWIDE, REST OF STATE, MANHATTAN (footnote asterisks removed, see note).';
COMMENT ON COLUMN pfs_locality.counties IS 'Counties (or county equivalents) in the locality, as printed, e.g. ALL COUNTIES, ALL OTHER COUNTIES, "BUTTS, CHEROKEE, ..."';
COMMENT ON COLUMN pfs_locality.note IS 'The file''s footnote for the area (marked *): "Payment locality is serviced by two carriers."; NULL when none.';
COMMENT ON COLUMN pfs_locality.line_no IS 'Line number in the LOCCO CSV.';

CREATE TABLE pfs_notice (
    release        VARCHAR NOT NULL,
    cpt_notice     VARCHAR NOT NULL,
    dental_notice  VARCHAR
);
COMMENT ON TABLE pfs_notice IS 'The copyright notices each PFS release''s RVU file carries (HDR records or CSV title rows), with the years that file states. CPT short descriptors in pfs_rvu may be stored and shown only with the AMA notice; pages print it.';
COMMENT ON COLUMN pfs_notice.release IS 'PFS release id.';
COMMENT ON COLUMN pfs_notice.cpt_notice IS 'The AMA CPT copyright notice, with the year the file states.';
COMMENT ON COLUMN pfs_notice.dental_notice IS 'The ADA notice for dental (D) codes, when the file carries one.';

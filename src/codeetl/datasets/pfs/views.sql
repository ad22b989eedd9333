-- Medicare Physician Fee Schedule: status code meanings and payment amounts (dataset `pfs`).
--
-- pfs_status: Attachment A of the release README ("National Physician Fee Schedule Relative Value File
-- Calendar Year 2026", RVU26B.pdf; RVU25D.pdf has the same list). "Only RVUs associated with status codes
-- of A, R, or T, are used for Medicare payment" (RVU26B.pdf, Status Code field): those are `payable`.
--
-- pfs_payment: the fee schedule amount of every pfs_rvu row, nationally and in every locality of pfs_gpci,
-- per the RVU PDF's formula:
--     national  = total RVUs x conversion factor            (the file's total = work + PE + MP in every row)
--     locality  = (work RVU x work GPCI + PE RVU x PE GPCI + MP RVU x MP GPCI) x conversion factor
-- with the non-facility or facility PE RVU and total, and the conversion factor each record carries.
--
-- Arithmetic and rounding: every factor is an exact DECIMAL (RVU 2 places, GPCI 3, CF 4), so the product
-- is exact (9 decimal places); it is rounded ONCE, at the end, to cents. DuckDB's ROUND(DECIMAL, 2) rounds
-- half away from zero (checked: 323.465 -> 323.47, 0.125 -> 0.13, -323.465 -> -323.47); amounts are never
-- negative, so this is round-half-up. That is CMS's rule: the 13,340 locality amounts CMS itself computed
-- in 2025-D's OPPSCAP_Oct.csv are reproduced exactly by this formula (no intermediate rounding; rounding
-- the GPCI-weighted RVUs first reproduces only 462 of them, rounding each component 9,152). Five national
-- amounts in 2025-D fall exactly on half a cent (e.g. 33050: 30.00 x 32.3465 = 970.395 -> 970.40), so
-- half-up vs half-to-even is a real difference; tests/test_pfs_payment.py checks every row.
--
-- No amount (NULL) where the PFS pays none; the *_note column says why, and also carries the status R/T
-- caveat when there is an amount.

CREATE OR REPLACE VIEW pfs_status AS
SELECT * FROM (VALUES
    ('A', 'active code: paid separately under the PFS if covered', TRUE,
     'Active Code. These codes are paid separately under the physician fee schedule, if covered. There will be RVUs for codes with this status. The presence of an A indicator does not mean that Medicare has made a national coverage determination regarding the service; A/B MACs (B) remain responsible for coverage decisions in the absence of a national Medicare policy.'),
    ('B', 'bundled code: payment is bundled into other services', FALSE,
     'Bundled Code. Payment for covered services are always bundled into payment for other services not specified. If RVUs are shown, they are not used for Medicare payment.'),
    ('C', 'contractor priced: the MAC sets the payment amount', FALSE,
     'Contractors price the code. A/B MACs (B) will establish RVUs and payment amounts for these services, generally on an individual case basis following review of documentation such as an operative report.'),
    ('D', 'deleted code', FALSE,
     'Deleted Codes. These codes are deleted effective with the beginning of the applicable year.'),
    ('E', 'excluded from the PFS by regulation', FALSE,
     'Excluded from Physician Fee Schedule by regulation. No RVUs are shown, and no payment may be made under the fee schedule for these codes. Payment for them, when covered, generally continues under reasonable charge procedures.'),
    ('F', 'deleted/discontinued code', FALSE,
     'Deleted/Discontinued Codes (code not subject to a 90 day grace period).'),
    ('G', 'not valid for Medicare purposes (90-day grace period)', FALSE,
     'Not valid for Medicare purposes. Medicare uses another code for reporting of, and payment for, these services (code subject to a 90 day grace period).'),
    ('H', 'deleted modifier', FALSE,
     'Deleted Modifier. This code had an associated TC and/or 26 modifier in the previous year; for the current year the TC or 26 component shown for the code has been deleted.'),
    ('I', 'not valid for Medicare purposes', FALSE,
     'Not valid for Medicare purposes. Medicare uses another code for reporting of, and payment for, these services (code NOT subject to a 90 day grace period).'),
    ('J', 'anesthesia service: no RVUs and no PFS payment amount', FALSE,
     'Anesthesia Services. There are no RVUs and no payment amounts for these codes. The intent of this value is to facilitate the identification of anesthesia services.'),
    ('M', 'measurement code: used for reporting purposes only', FALSE,
     'Measurement codes. Used for reporting purposes only.'),
    ('N', 'non-covered service: not covered by Medicare', FALSE,
     'Non-covered Services. These services are not covered by Medicare.'),
    ('P', 'bundled/excluded code: no separate PFS payment', FALSE,
     'Bundled/Excluded Codes. There are no RVUs and no payment amounts for these services. No separate payment should be made for them under the fee schedule.'),
    ('R', 'restricted coverage: special coverage instructions apply', TRUE,
     'Restricted Coverage. Special coverage instructions apply. If covered, the service is contractor priced. (The majority of codes with this indicator are the dental codes, which begin with D; a limited number of CPT codes are covered only in unusual circumstances.)'),
    ('T', 'injection: paid only if no other PFS service is billed the same day by the same provider', TRUE,
     'Injections. There are RVUs and payment amounts for these services, but they are only paid if there are no other services payable under the physician fee schedule billed on the same date by the same provider; otherwise they are bundled into the physician services for which payment is made.'),
    ('X', 'statutory exclusion: not a physician service under the PFS', FALSE,
     'Statutory Exclusion. These codes represent an item or service that is not in the statutory definition of physician services for fee schedule payment purposes. No RVUs or payment amounts are shown, and no payment may be made under the physician fee schedule (e.g. ambulance services, clinical diagnostic laboratory services).')
) AS s(status, meaning, payable, description);
COMMENT ON VIEW pfs_status IS 'PFS status codes (RVU file column 58) and their meaning, from Attachment A of the PFS Relative Value File README (RVU26B.pdf, CMS).';
COMMENT ON COLUMN pfs_status.status IS 'Status code as in pfs_rvu.status.';
COMMENT ON COLUMN pfs_status.meaning IS 'Short meaning, used in the pfs_payment notes (status I: not valid for Medicare purposes).';
COMMENT ON COLUMN pfs_status.payable IS 'True for A, R and T: the PDF says only RVUs of these status codes are used for Medicare payment, so pfs_payment computes amounts only for them.';
COMMENT ON COLUMN pfs_status.description IS 'The PDF''s definition, slightly shortened.';

CREATE OR REPLACE VIEW pfs_payment AS
WITH rvu AS (
    SELECT
        r.*,
        s.meaning,
        coalesce(s.payable, FALSE) AS payable,
        (r.nonfacility_pe_opps <> 0 OR r.facility_pe_opps <> 0 OR r.mp_opps <> 0) AS opps_cap_applies
    FROM pfs_rvu AS r
    LEFT JOIN pfs_status AS s ON s.status = r.status
),
places AS (
    SELECT
        release,
        'national' AS locality,
        NULL::VARCHAR AS mac,
        NULL::VARCHAR AS locality_number,
        'NATIONAL (no geographic adjustment)' AS locality_name,
        NULL::VARCHAR AS state,
        1.000::DECIMAL(5,3) AS work_gpci,
        1.000::DECIMAL(5,3) AS pe_gpci,
        1.000::DECIMAL(5,3) AS mp_gpci
    FROM (SELECT DISTINCT release FROM pfs_rvu)
    UNION ALL
    SELECT release, mac || '-' || locality, mac, locality, locality_name, state, work_gpci, pe_gpci, mp_gpci
    FROM pfs_gpci
),
raw AS (
    SELECT
        r.release, r.hcpcs, r.modifier, r.status, r.meaning, r.payable, r.conversion_factor,
        r.nonfacility_na, r.facility_na, r.nonfacility_total, r.facility_total, r.opps_cap_applies,
        p.locality, p.mac, p.locality_number, p.locality_name, p.state,
        CASE WHEN p.locality = 'national' THEN r.nonfacility_total * r.conversion_factor
             ELSE (r.work_rvu * p.work_gpci + r.nonfacility_pe_rvu * p.pe_gpci + r.mp_rvu * p.mp_gpci) * r.conversion_factor
        END AS nonfacility_exact,
        CASE WHEN p.locality = 'national' THEN r.facility_total * r.conversion_factor
             ELSE (r.work_rvu * p.work_gpci + r.facility_pe_rvu * p.pe_gpci + r.mp_rvu * p.mp_gpci) * r.conversion_factor
        END AS facility_exact,
        (r.work_rvu * p.work_gpci + r.nonfacility_pe_opps * p.pe_gpci + r.mp_opps * p.mp_gpci) * r.conversion_factor AS nonfacility_opps_exact,
        (r.work_rvu * p.work_gpci + r.facility_pe_opps * p.pe_gpci + r.mp_opps * p.mp_gpci) * r.conversion_factor AS facility_opps_exact
    FROM rvu AS r
    JOIN places AS p ON p.release = r.release
),
amounts AS (
    SELECT
        *,
        CASE WHEN payable AND NOT nonfacility_na AND nonfacility_total <> 0
             THEN ROUND(nonfacility_exact, 2)::DECIMAL(10,2) END AS nonfacility_amount,
        CASE WHEN payable AND NOT facility_na AND facility_total <> 0
             THEN ROUND(facility_exact, 2)::DECIMAL(10,2) END AS facility_amount,
        CASE WHEN meaning IS NULL THEN 'status ' || status || ': not a status code listed in the RVU file documentation'
             WHEN NOT payable THEN 'status ' || status || ': ' || meaning
        END AS status_note
    FROM raw
)
SELECT
    release,
    hcpcs,
    modifier,
    status,
    locality,
    mac,
    locality_number,
    locality_name,
    state,
    conversion_factor,
    nonfacility_amount,
    CASE WHEN status_note IS NOT NULL THEN status_note
         WHEN nonfacility_na THEN 'NA: not paid in the non-facility setting (rarely or never performed there)'
         WHEN nonfacility_total = 0 THEN 'status ' || status || ': no RVUs in the non-facility setting (priced by the MAC)'
         WHEN status IN ('R', 'T') THEN 'status ' || status || ': ' || meaning
    END AS nonfacility_note,
    facility_amount,
    CASE WHEN status_note IS NOT NULL THEN status_note
         WHEN facility_na THEN 'NA: not paid in the facility setting (rarely or never performed there)'
         WHEN facility_total = 0 THEN 'status ' || status || ': no RVUs in the facility setting (priced by the MAC)'
         WHEN status IN ('R', 'T') THEN 'status ' || status || ': ' || meaning
    END AS facility_note,
    CASE WHEN nonfacility_amount IS NOT NULL AND opps_cap_applies
         THEN ROUND(nonfacility_opps_exact, 2)::DECIMAL(10,2) END AS nonfacility_opps_cap,
    CASE WHEN facility_amount IS NOT NULL AND opps_cap_applies
         THEN ROUND(facility_opps_exact, 2)::DECIMAL(10,2) END AS facility_opps_cap,
    LEAST(nonfacility_amount,
          CASE WHEN nonfacility_amount IS NOT NULL AND opps_cap_applies
               THEN ROUND(nonfacility_opps_exact, 2)::DECIMAL(10,2) END) AS nonfacility_capped_amount,
    LEAST(facility_amount,
          CASE WHEN facility_amount IS NOT NULL AND opps_cap_applies
               THEN ROUND(facility_opps_exact, 2)::DECIMAL(10,2) END) AS facility_capped_amount
FROM amounts;
COMMENT ON VIEW pfs_payment IS 'Medicare PFS fee schedule amounts in dollars for every pfs_rvu row: nationally (locality = ''national'': total RVUs x conversion factor) and in every payment locality of pfs_gpci (GPCI-weighted RVUs x conversion factor), non-facility and facility, exact decimals rounded once, half-up, to cents. NULL amounts come with a note saying why. These are participating-provider fee schedule amounts before deductible, coinsurance, sequestration and the multiple-procedure/bilateral/assistant adjustments of the policy indicators; the limiting charge is 1.0925 x the amount.';
COMMENT ON COLUMN pfs_payment.release IS 'PFS release id (2026-B).';
COMMENT ON COLUMN pfs_payment.hcpcs IS 'CPT/HCPCS code.';
COMMENT ON COLUMN pfs_payment.modifier IS 'Modifier (26, TC, 53) or empty string for the global service.';
COMMENT ON COLUMN pfs_payment.status IS 'PFS status code (see pfs_status).';
COMMENT ON COLUMN pfs_payment.locality IS 'national, or the payment locality as MAC-locality: ''01112-05'' (MAC 01112, locality 05; see pfs_gpci).';
COMMENT ON COLUMN pfs_payment.mac IS 'MAC number of the locality (NULL for national).';
COMMENT ON COLUMN pfs_payment.locality_number IS 'Locality number within the MAC, 2 digits (NULL for national); pfs_gpci.locality.';
COMMENT ON COLUMN pfs_payment.locality_name IS 'Locality name from the GPCI file; NATIONAL (no geographic adjustment) for national.';
COMMENT ON COLUMN pfs_payment.state IS 'Two-letter state of the locality (NULL for national).';
COMMENT ON COLUMN pfs_payment.conversion_factor IS 'The conversion factor the RVU record carries (dollars per RVU).';
COMMENT ON COLUMN pfs_payment.nonfacility_amount IS 'Non-facility (office) fee schedule amount, dollars, rounded half-up to cents; NULL when not paid in this setting or not payable under the PFS (see nonfacility_note).';
COMMENT ON COLUMN pfs_payment.nonfacility_note IS 'Why nonfacility_amount is NULL (status not payable, NA in this setting, no RVUs), or the status R/T caveat when there is an amount; NULL otherwise.';
COMMENT ON COLUMN pfs_payment.facility_amount IS 'Facility (hospital, ASC, SNF...) fee schedule amount, dollars, rounded half-up to cents; NULL when not paid in this setting or not payable (see facility_note).';
COMMENT ON COLUMN pfs_payment.facility_note IS 'Why facility_amount is NULL, or the status R/T caveat when there is an amount; NULL otherwise.';
COMMENT ON COLUMN pfs_payment.nonfacility_opps_cap IS 'OPPS-based cap on the non-facility amount (DRA 2005 section 5102(b), imaging): the same formula with the OPPS PE and MP RVUs; NULL where the code has no OPPS RVUs or no amount.';
COMMENT ON COLUMN pfs_payment.facility_opps_cap IS 'OPPS-based cap on the facility amount; NULL where the code has no OPPS RVUs or no amount.';
COMMENT ON COLUMN pfs_payment.nonfacility_capped_amount IS 'The lesser of nonfacility_amount and nonfacility_opps_cap: the non-facility amount after the OPPS imaging cap (equals nonfacility_amount when no cap applies). Matches CMS''s OPPSCAP file for 2025-D.';
COMMENT ON COLUMN pfs_payment.facility_capped_amount IS 'The lesser of facility_amount and facility_opps_cap: the facility amount after the OPPS imaging cap.';

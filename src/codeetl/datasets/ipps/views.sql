-- MS-DRG views and the cc_level macro, over the tables of datasets msdrg (Definitions Manual:
-- msdrg_drg_def, msdrg_dx_drg, msdrg_dx, msdrg_mdc) and ipps (Table 5: msdrg_drg_weight; Table 6K:
-- msdrg_cc, msdrg_cc_exclusion, msdrg_cc_drg_exclusion). Everything joins on version (the grouper
-- version, v43 = FY2026). Only these tables are referenced.
--
-- Severity rule (columns family / severity / severity_alt of msdrg_drg and dx_drg_family):
-- MS-DRG titles end with the secondary-diagnosis split of their family, written as one of
--   with MCC | with CC | with CC/MCC | with CC or MCC | without MCC | without CC/MCC | and MCC
-- (and MCC occurs in 275 "Cardiac Defibrillator Implant with Cardiac Catheterization and MCC"), optionally
-- followed by " or <another way into the same DRG>" (005 "Liver Transplant with MCC or Intestinal
-- Transplant", 124 "Other Disorders of the Eye with MCC or Thrombolytic Agent"). The LAST such phrase of
-- the title (case-insensitive) is taken:
--   severity      = 'with MCC' | 'with CC' | 'with CC/MCC' | 'without MCC' | 'without CC/MCC'
--                   ('and MCC' reads 'with MCC'; 'CC or MCC' is written 'CC/MCC'); NULL when the title
--                   has no such phrase (the DRG is not split by CC/MCC, e.g. 007 Lung Transplant);
--   severity_alt  = the text after " or " (Intestinal Transplant), else NULL;
--   family        = the title before the phrase (Medical Back Problems), or the whole title.
-- The title used is Appendix A's (mixed case), else Table 5's when a version has weights only.
--
-- Point releases (v43.1, the April 1 update) have an Appendix A and B of their own but no IPPS tables: CMS
-- publishes Table 5 and Tables 6I-6K once a fiscal year, for the October version. A point release uses the
-- IPPS tables of its fiscal year (msdrg_fiscal_year, msdrg_ipps_version).

CREATE OR REPLACE MACRO msdrg_fiscal_year(version) AS
CAST(regexp_extract(version, '^[vV]([0-9]+)', 1) AS INTEGER) + 1983;
COMMENT ON MACRO msdrg_fiscal_year IS 'msdrg_fiscal_year(version): the federal fiscal year of an MS-DRG grouper version or point release: vNN -> NN + 1983 (v43 and v43.1 -> 2026, discharges 2025-10-01 to 2026-09-30).';

CREATE OR REPLACE MACRO msdrg_ipps_version(version) AS
CASE WHEN version IN (SELECT w.version FROM msdrg_drg_weight AS w UNION SELECT c.version FROM msdrg_cc AS c) THEN version
     ELSE 'v' || regexp_extract(version, '^[vV]([0-9]+)', 1) END;
COMMENT ON MACRO msdrg_ipps_version IS 'msdrg_ipps_version(version): the version the IPPS tables (Table 5, Tables 6I-6K) for a grouper version are stored under: the version itself when IPPS tables are loaded for it, else the October version of its fiscal year (v43 for the point release v43.1: CMS publishes them once a year).';

CREATE OR REPLACE VIEW msdrg_drg AS
WITH j AS (
    SELECT
        coalesce(d.version, w.version)                  AS version,
        coalesce(d.drg, w.drg)                          AS drg,
        coalesce(d.mdc, w.mdc)                          AS mdc,
        coalesce(d.type, CASE w.type WHEN 'MED' THEN 'M' WHEN 'SURG' THEN 'P' END) AS type,
        d.title                                         AS title,
        w.title                                         AS title_ipps,
        w.weight, w.weight_before_cap, w.gmlos, w.amlos, w.post_acute, w.special_pay,
        CAST(coalesce(msdrg_fiscal_year(d.version), w.fiscal_year) AS SMALLINT) AS fiscal_year
    FROM msdrg_drg_def AS d
    FULL OUTER JOIN msdrg_drg_weight AS w ON w.version = msdrg_ipps_version(d.version) AND w.drg = d.drg
), s AS (
    SELECT
        j.*,
        regexp_extract(
            coalesce(j.title, j.title_ipps),
            '(?i)^(.*)\b(with|without|and) (CC/MCC|CC or MCC|MCC|CC)\b(?: or (.+))?$',
            ['family', 'word', 'level', 'alt']
        ) AS m
    FROM j
)
SELECT
    version, drg, mdc, type, title, title_ipps,
    CASE WHEN m.level = '' THEN coalesce(title, title_ipps) ELSE rtrim(m.family) END AS family,
    CASE WHEN m.level = '' THEN NULL
         ELSE CASE lower(m.word) WHEN 'without' THEN 'without ' ELSE 'with ' END
              || replace(upper(m.level), ' OR ', '/')
    END AS severity,
    nullif(m.alt, '') AS severity_alt,
    weight, weight_before_cap, gmlos, amlos, post_acute, special_pay, fiscal_year
FROM s;

COMMENT ON VIEW msdrg_drg IS 'Each MS-DRG of a grouper version: Appendix A definition (msdrg_drg_def) joined with its IPPS Table 5 weights and lengths of stay (msdrg_drg_weight), with the severity split read from the title. A point release (v43.1) has the Table 5 values of its fiscal year (FY2026''s, published for v43).';
COMMENT ON COLUMN msdrg_drg.version IS 'MS-DRG grouper version (v43 = FY2026).';
COMMENT ON COLUMN msdrg_drg.drg IS 'MS-DRG number, 3 characters.';
COMMENT ON COLUMN msdrg_drg.mdc IS 'MDC: Appendix A''s, else Table 5''s (so Pre-MDC DRGs 001-019 read PRE); NULL for 981-989, 998, 999.';
COMMENT ON COLUMN msdrg_drg.type IS 'M = medical, P = surgical (Appendix A; from Table 5 MED/SURG when Appendix A is not loaded); NULL for 998, 999.';
COMMENT ON COLUMN msdrg_drg.title IS 'Title as printed in Appendix A of the Definitions Manual (mixed case).';
COMMENT ON COLUMN msdrg_drg.title_ipps IS 'Title as printed in IPPS Table 5 (upper case).';
COMMENT ON COLUMN msdrg_drg.family IS 'The title without its CC/MCC split (Medical Back Problems): the MS-DRG family.';
COMMENT ON COLUMN msdrg_drg.severity IS 'CC/MCC split read from the title: with MCC, with CC, with CC/MCC, without MCC or without CC/MCC; NULL when the DRG is not split by CC/MCC.';
COMMENT ON COLUMN msdrg_drg.severity_alt IS 'Another way into the DRG printed after "or" in the title (e.g. Thrombolytic Agent for 124), else NULL.';
COMMENT ON COLUMN msdrg_drg.weight IS 'Relative weight used for payment (Table 5 of the version''s fiscal year, 10% cap applied; NULL when that Table 5 is not loaded).';
COMMENT ON COLUMN msdrg_drg.weight_before_cap IS 'Relative weight before the 10% cap (Table 5).';
COMMENT ON COLUMN msdrg_drg.gmlos IS 'Geometric mean length of stay, days (Table 5).';
COMMENT ON COLUMN msdrg_drg.amlos IS 'Arithmetic mean length of stay, days (Table 5).';
COMMENT ON COLUMN msdrg_drg.post_acute IS 'Post-acute care transfer DRG (Table 5).';
COMMENT ON COLUMN msdrg_drg.special_pay IS 'Special-pay post-acute transfer DRG (Table 5).';
COMMENT ON COLUMN msdrg_drg.fiscal_year IS 'Federal fiscal year of the version (msdrg_fiscal_year: v43, v43.1 -> 2026), which is also the year of the Table 5 the weights come from.';

CREATE OR REPLACE VIEW dx_drg_family AS
SELECT
    x.version,
    x.dx,
    dx.description   AS dx_description,
    x.mdc,
    m.name           AS mdc_name,
    x.drg,
    d.title,
    d.type,
    d.family,
    d.severity,
    d.severity_alt,
    d.weight,
    d.gmlos,
    d.amlos
FROM msdrg_dx_drg AS x
LEFT JOIN msdrg_dx  AS dx ON dx.version = x.version AND dx.dx = x.dx
LEFT JOIN msdrg_mdc AS m  ON m.version = x.version AND m.mdc = x.mdc
LEFT JOIN msdrg_drg AS d  ON d.version = x.version AND d.drg = x.drg;

COMMENT ON VIEW dx_drg_family IS 'For a diagnosis, the MDC(s) and MS-DRGs it leads to (Appendix B), with MDC name, DRG title, severity split, weight and lengths of stay: e.g. M96.1 -> MDC 08 -> 551 Medical Back Problems with MCC / 552 ... without MCC. Appendix B lists every DRG whose logic uses the code, as principal or as secondary diagnosis (e.g. MDC 25 HIV DRGs for HIV-related conditions), so filter on mdc when the diagnosis is principal.';
COMMENT ON COLUMN dx_drg_family.version IS 'MS-DRG grouper version (v43 = FY2026).';
COMMENT ON COLUMN dx_drg_family.dx IS 'ICD-10-CM code, dotted display form.';
COMMENT ON COLUMN dx_drg_family.dx_description IS 'Description of dx as printed in Appendix B.';
COMMENT ON COLUMN dx_drg_family.mdc IS 'MDC of the Appendix B line (01-25 or PRE).';
COMMENT ON COLUMN dx_drg_family.mdc_name IS 'Name of the MDC (msdrg_mdc).';
COMMENT ON COLUMN dx_drg_family.drg IS 'MS-DRG number, 3 characters.';
COMMENT ON COLUMN dx_drg_family.title IS 'MS-DRG title (Appendix A).';
COMMENT ON COLUMN dx_drg_family.type IS 'M = medical, P = surgical.';
COMMENT ON COLUMN dx_drg_family.family IS 'The title without its CC/MCC split (see msdrg_drg.family).';
COMMENT ON COLUMN dx_drg_family.severity IS 'CC/MCC split of the DRG read from its title (see msdrg_drg.severity).';
COMMENT ON COLUMN dx_drg_family.severity_alt IS 'Alternative way into the DRG printed after "or" in the title.';
COMMENT ON COLUMN dx_drg_family.weight IS 'Relative weight (Table 5, 10% cap applied).';
COMMENT ON COLUMN dx_drg_family.gmlos IS 'Geometric mean length of stay, days.';
COMMENT ON COLUMN dx_drg_family.amlos IS 'Arithmetic mean length of stay, days.';

-- cc_level(pdx, sdx [, version := NULL] [, drg := NULL] [, discharged_alive := true])
-- What the secondary diagnosis sdx contributes to the severity of a case whose principal diagnosis is
-- pdx, under IPPS Table 6K. Codes may be given with or without the dot, in any case.
--   'MCC' / 'CC'  sdx is an MCC / CC and counts for this case;
--   'excluded'    sdx is a CC/MCC but does not count here: pdx is on sdx's PDX exclusion list
--                 (msdrg_cc_exclusion), or drg is given and sdx is excluded for it by 6K part 3
--                 (msdrg_cc_drg_exclusion), or discharged_alive is false and sdx counts only for
--                 patients discharged alive (6K part 2);
--   'none'        sdx is neither a CC nor an MCC in this version;
--   NULL          pdx or sdx is NULL, or the version has no CC list loaded.
-- version defaults to the highest grouper version loaded in msdrg_cc, compared by its numeric parts
-- (v43.1 > v43 > v9); a point release without CC lists of its own (v43.1) uses those of its fiscal year
-- (msdrg_ipps_version: v43).
-- Written as one scalar subquery over LEFT JOINs (no EXISTS, no CTE) so that DuckDB decorrelates it
-- when applied to a column: about 20,000 pairs in 30 ms. Inside a macro a parameter name hides a
-- column of the same name (version, drg), so every column reference is qualified with its table alias.
CREATE OR REPLACE MACRO cc_level(pdx, sdx, version := NULL, drg := NULL, discharged_alive := true) AS
CASE WHEN pdx IS NULL OR sdx IS NULL THEN NULL ELSE (
    SELECT CASE
        WHEN NOT bool_or(k.kv IS NOT NULL) THEN NULL
        WHEN max(c.level) IS NULL THEN 'none'
        WHEN bool_or(e.pdx IS NOT NULL) THEN 'excluded'
        WHEN bool_or(g.dx IS NOT NULL) THEN 'excluded'
        WHEN bool_or(c.alive_only) AND NOT coalesce(discharged_alive, true) THEN 'excluded'
        ELSE max(c.level)
    END
    FROM (
        SELECT
            r.v,
            CASE WHEN length(r.p0) > 3 THEN r.p0[1:3] || '.' || r.p0[4:] ELSE r.p0 END AS p,
            CASE WHEN length(r.s0) > 3 THEN r.s0[1:3] || '.' || r.s0[4:] ELSE r.s0 END AS s
        FROM (
            SELECT
                msdrg_ipps_version(coalesce(
                    version,
                    (SELECT max_by(l.version, list_transform(string_split(ltrim(l.version, 'vV'), '.'),
                                                             lambda x: TRY_CAST(x AS INTEGER)))
                     FROM msdrg_cc AS l)
                ))                                 AS v,
                upper(replace(trim(pdx), '.', '')) AS p0,
                upper(replace(trim(sdx), '.', '')) AS s0
        ) AS r
    ) AS a
    LEFT JOIN (SELECT DISTINCT kk.version AS kv FROM msdrg_cc AS kk) AS k ON k.kv = a.v
    LEFT JOIN msdrg_cc AS c ON c.version = a.v AND c.dx = a.s
    LEFT JOIN msdrg_cc_exclusion AS e
           ON e.version = a.v AND e.exclusion_list = c.exclusion_list AND e.pdx = a.p
    LEFT JOIN msdrg_cc_drg_exclusion AS g
           ON drg IS NOT NULL AND g.version = a.v AND g.dx = a.s
          AND lpad(CAST(drg AS VARCHAR), 3, '0') BETWEEN g.drg_first AND g.drg_last
) END;

COMMENT ON MACRO cc_level IS 'cc_level(pdx, sdx [, version := NULL, drg := NULL, discharged_alive := true]): MCC or CC when secondary diagnosis sdx counts as such with principal diagnosis pdx (IPPS Table 6K); excluded when sdx is a CC/MCC that does not count here (pdx on its PDX exclusion list; with drg, a 6K part 3 DRG exclusion; with discharged_alive := false, an alive-only code); none when sdx is neither; NULL for NULL input or a version without CC list. Codes with or without dot. version defaults to the latest loaded; a point release without CC lists of its own (v43.1) uses those of its fiscal year (v43).';

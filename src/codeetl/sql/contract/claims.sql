-- The claims contract: what any engine needs to check or annotate dated codes of claims, as plain tables
-- (exported as parquet like every table and view: parquet/<name>/<name>.parquet). `codeetl validate` and
-- `codeetl annotate` read these files, on DuckDB and on Spark alike (sql/claims/*.sql); Trino, Snowflake or
-- any SQL engine can do the same joins (README, "Claims on any engine").
--
-- Conventions of every claim_* table: codes are joined by code_nodot (a claim's code with dots and spaces
-- removed, upper case: ' m96.1' -> M961); intervals are closed, both ends inclusive (valid_from <= day AND
-- day <= valid_to); an open end is 9999-12-31, never NULL, so `day BETWEEN valid_from AND valid_to` is the
-- whole test. Built after the views (it reads releases, icd10cm_code_history, icd10cm_history_releases, icd10cm_codes,
-- icd10cm_chapters, release_calendar, dx_drg_family, msdrg_cc, msdrg_cc_exclusion); claim_icd10cm_reason
-- is filled by codeetl.build.claim_contract from sql/history/validate.sql.

CREATE OR REPLACE VIEW claim_icd10cm_period AS
SELECT
    release,
    seq,
    period_from                                   AS valid_from,
    coalesce(period_to, DATE '9999-12-31')        AS valid_to,
    has_headers
FROM icd10cm_history_releases;

COMMENT ON VIEW claim_icd10cm_period IS 'Claims contract: the period of each loaded ICD-10-CM release (icd10cm_history_releases), one row per release: what validate lists as the loaded releases. Whether a day is covered is claim_icd10cm_coverage''s.';
COMMENT ON COLUMN claim_icd10cm_period.release IS 'ICD-10-CM release id (2026-04).';
COMMENT ON COLUMN claim_icd10cm_period.seq IS 'Position in effective order (1 = earliest loaded).';
COMMENT ON COLUMN claim_icd10cm_period.valid_from IS 'First day the release is in effect (inclusive).';
COMMENT ON COLUMN claim_icd10cm_period.valid_to IS 'Last day of its period (inclusive); 9999-12-31 for the latest release when it is open-ended.';
COMMENT ON COLUMN claim_icd10cm_period.has_headers IS 'True when the release lists header codes (Tabular XML or order file); false for a code file only.';

CREATE OR REPLACE VIEW claim_icd10cm_coverage AS
-- Every day from 0001-01-01 to 9999-12-31 in exactly one row. The days are cut at every release's effective
-- dates and every period's ends, so day_covered (sql/releases.sql, the one rule) and the period are the same
-- on every day of a piece and are asked of its first day; equal neighbours are then merged.
WITH r AS (
    SELECT effective_from AS f, coalesce(effective_to, DATE '9999-12-31') AS t FROM releases WHERE dataset = 'icd10cm'
), p AS (
    SELECT release, period_from, coalesce(period_to, DATE '9999-12-31') AS period_to FROM icd10cm_history_releases
), cuts AS (
    SELECT DISTINCT d FROM (
        SELECT DATE '0001-01-01' AS d
        UNION ALL SELECT f FROM r UNION ALL SELECT t + 1 FROM r WHERE t < DATE '9999-12-31'
        UNION ALL SELECT period_from FROM p UNION ALL SELECT period_to + 1 FROM p WHERE period_to < DATE '9999-12-31')
    WHERE d >= DATE '0001-01-01'
), pieces AS (
    SELECT d AS valid_from, coalesce(lead(d) OVER (ORDER BY d) - 1, DATE '9999-12-31') AS valid_to,
           day_covered('icd10cm', d) AS covered
    FROM cuts
), described AS (
    SELECT x.valid_from, x.valid_to, x.covered,
           CASE WHEN x.covered THEN (SELECT min(p.release) FROM p WHERE x.valid_from BETWEEN p.period_from AND p.period_to) END AS release,
           CASE WHEN NOT x.covered THEN
               (SELECT arg_max(p.release || ' (to ' || p.period_to || ')', p.period_from) FROM p WHERE p.period_to < x.valid_from) END AS before,
           CASE WHEN NOT x.covered THEN
               (SELECT arg_min(p.release || ' (from ' || p.period_from || ')', p.period_from) FROM p WHERE p.period_from > x.valid_from) END AS after
    FROM pieces AS x
), islands AS (
    SELECT *, row_number() OVER (ORDER BY valid_from)
              - row_number() OVER (PARTITION BY covered, release, before, after ORDER BY valid_from) AS island
    FROM described
)
SELECT min(valid_from) AS valid_from, max(valid_to) AS valid_to, covered, release,
       CASE WHEN NOT covered THEN
            CASE WHEN before IS NOT NULL AND after IS NOT NULL THEN ': it falls between release ' || before || ' and release ' || after
                 WHEN before IS NOT NULL THEN ': the latest loaded is release ' || before
                 ELSE ': the earliest loaded is release ' || after END END AS gap_note
FROM islands
GROUP BY island, covered, release, before, after;

COMMENT ON VIEW claim_icd10cm_coverage IS 'Claims contract: every day from 0001-01-01 to 9999-12-31 in exactly one row, covered or not by a loaded ICD-10-CM release (day_covered, the one rule: a day between loaded releases whose own release is not loaded, or outside them, is not covered), with the release whose codes apply on a covered day. Join: day BETWEEN valid_from AND valid_to (both inclusive); validate says no release loaded for the date when covered is false.';
COMMENT ON COLUMN claim_icd10cm_coverage.valid_from IS 'First day of the span (inclusive).';
COMMENT ON COLUMN claim_icd10cm_coverage.valid_to IS 'Last day of the span (inclusive).';
COMMENT ON COLUMN claim_icd10cm_coverage.covered IS 'True when a loaded ICD-10-CM release is in effect on these days.';
COMMENT ON COLUMN claim_icd10cm_coverage.release IS 'The release (claim_icd10cm_period) whose codes apply on these days; NULL when not covered.';
COMMENT ON COLUMN claim_icd10cm_coverage.gap_note IS 'Days not covered: the loaded releases around them as validate words it (: it falls between release 2025 (to 2025-09-30) and release 2026 (from 2025-10-01)); NULL when covered.';

CREATE OR REPLACE VIEW claim_icd10cm_interval AS
-- A span's days no loaded release covers (unknown_days: a release between two loaded ones not loaded) are
-- cut out, so a code is never valid on a day validate finds no release for.
SELECT code, code_nodot, is_billable, description, valid_from, valid_to, first_release, last_release
FROM (
    SELECT h.code, h.code_nodot, h.is_billable, h.description,
           unnest(list_concat([h.valid_from], list_transform(h.unknown_days, lambda u: u."to" + 1))) AS valid_from,
           unnest(list_concat(list_transform(h.unknown_days, lambda u: u."from" - 1),
                              [coalesce(h.valid_to, DATE '9999-12-31')])) AS valid_to,
           h.first_release, h.last_release
    FROM icd10cm_code_history AS h
)
WHERE valid_from <= valid_to;

COMMENT ON VIEW claim_icd10cm_interval IS 'Claims contract: each ICD-10-CM code''s spans of unchanged billable flag and description (icd10cm_code_history), both ends inclusive, without the days no loaded release covers (a span across such days is cut in two). A code is valid on a claim''s day when a row with is_billable covers it: code_nodot = key AND is_billable AND day BETWEEN valid_from AND valid_to. The spans of a code never overlap, so at most one row covers a (code, day).';
COMMENT ON COLUMN claim_icd10cm_interval.code IS 'Code as printed, dotted: M96.1.';
COMMENT ON COLUMN claim_icd10cm_interval.code_nodot IS 'Join key: the code without dots, upper case (M961).';
COMMENT ON COLUMN claim_icd10cm_interval.is_billable IS 'True for a valid (billable) code during the span; false for a header.';
COMMENT ON COLUMN claim_icd10cm_interval.description IS 'Long description during the span.';
COMMENT ON COLUMN claim_icd10cm_interval.valid_from IS 'First day of the span (inclusive): effective date of its first release, or the first covered day after days no loaded release covers.';
COMMENT ON COLUMN claim_icd10cm_interval.valid_to IS 'Last day of the span (inclusive); 9999-12-31 while the latest loaded release is open-ended.';
COMMENT ON COLUMN claim_icd10cm_interval.first_release IS 'First release of the span.';
COMMENT ON COLUMN claim_icd10cm_interval.last_release IS 'Last release of the span.';

CREATE OR REPLACE TABLE claim_icd10cm_reason (
    code_nodot  VARCHAR NOT NULL,
    release     VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    details     VARCHAR NOT NULL
);  -- one row per (code_nodot, release) by construction (validate.sql's v_keys is distinct); no PRIMARY KEY:
    -- its index would stay in the build's memory through the code pages

COMMENT ON TABLE claim_icd10cm_reason IS 'Claims contract: why a code is not billable during a release, for every code and prefix the loaded releases know (every code_nodot of icd10cm_code_history, and every prefix of 3 or more characters of a billable code), in every release in which it is not billable; computed at build time by the reason statements of sql/history/validate.sql, exactly as codeetl validate reports them. A (code, release) without a row, whose code is not billable that day, is reason unknown code, details not an ICD-10-CM code in any loaded release.';
COMMENT ON COLUMN claim_icd10cm_reason.code_nodot IS 'Join key: the code without dots, upper case (M545).';
COMMENT ON COLUMN claim_icd10cm_reason.release IS 'ICD-10-CM release (claim_icd10cm_period.release) in which the code is not billable.';
COMMENT ON COLUMN claim_icd10cm_reason.reason IS 'header code, deleted, not yet valid or unknown code (codeetl validate''s reasons).';
COMMENT ON COLUMN claim_icd10cm_reason.details IS 'The explanation codeetl validate writes: the billable codes below a header, the last valid day and replacements of a deleted code, the first valid day of a code not yet valid.';

CREATE OR REPLACE VIEW claim_icd10cm_category AS
SELECT
    c.release,
    c.code_nodot                                  AS category,
    c.description                                 AS category_description,
    c.chapter,
    ch.title                                      AS chapter_title
FROM icd10cm_codes AS c
LEFT JOIN icd10cm_chapters AS ch ON ch.release = c.release AND ch.chapter = c.chapter
WHERE c.depth = 1;

COMMENT ON VIEW claim_icd10cm_category IS 'Claims contract: each three-character category of a release that lists headers, with its chapter (icd10cm_codes depth 1, icd10cm_chapters). Join: category = the first three characters of the claim''s code_nodot AND release = the release of the day. A release loaded from a code file only lists no categories or chapters (as its code page says): no rows.';
COMMENT ON COLUMN claim_icd10cm_category.release IS 'ICD-10-CM release id.';
COMMENT ON COLUMN claim_icd10cm_category.category IS 'Three-character category (M96).';
COMMENT ON COLUMN claim_icd10cm_category.category_description IS 'Description of the category in that release.';
COMMENT ON COLUMN claim_icd10cm_category.chapter IS 'Chapter number (1-22).';
COMMENT ON COLUMN claim_icd10cm_category.chapter_title IS 'Chapter title (Diseases of the musculoskeletal system and connective tissue).';

CREATE OR REPLACE VIEW claim_msdrg_version AS
SELECT
    c.release                                     AS version,
    c.effective_from                              AS valid_from,
    least(coalesce(c.effective_to, DATE '9999-12-31'),
          coalesce((SELECT min(n.effective_from) FROM release_calendar AS n
                    WHERE n.dataset = c.dataset AND n.effective_from > c.effective_from) - 1,
                   DATE '9999-12-31'))            AS valid_to
FROM release_calendar AS c
WHERE c.dataset = 'msdrg';

COMMENT ON VIEW claim_msdrg_version IS 'Claims contract: the days each loaded MS-DRG grouper version is in effect (release_calendar): from its effective date to its end date or the day before the next loaded version takes effect, both inclusive, so a day is in at most one row, the version release_on(''msdrg'', day) gives when it is in effect. A day in no row (before the first version, in a version not loaded, after the last one ends) gets no MS-DRG annotation: no version out of effect is used.';
COMMENT ON COLUMN claim_msdrg_version.version IS 'MS-DRG grouper version (v43 = FY2026).';
COMMENT ON COLUMN claim_msdrg_version.valid_from IS 'First day in effect (inclusive).';
COMMENT ON COLUMN claim_msdrg_version.valid_to IS 'Last day in effect (inclusive); 9999-12-31 when open-ended.';

CREATE OR REPLACE VIEW claim_msdrg_dx AS
-- The rows of dx_drg_family (msdrg_dx_drg with msdrg_drg), folded into one row per diagnosis. Most diagnoses
-- of an MDC lead to the same DRGs, so each distinct (version, MDC, DRGs) is described once and joined back;
-- lists are sorted with list_sort of flat entries (cheaper than ordered aggregates here, and they stay
-- within the build's memory limit where nested lists per diagnosis do not).
WITH lines AS (
    SELECT version, dx, mdc, list_sort(list(drg)) AS drgs
    FROM msdrg_dx_drg
    GROUP BY ALL
), entries AS (
    SELECT g.version, g.mdc, g.drgs, g.drg, coalesce(d.family, d.title) AS family, d.severity, d.weight
    FROM (SELECT version, mdc, drgs, unnest(drgs) AS drg FROM (SELECT DISTINCT version, mdc, drgs FROM lines)) AS g
    LEFT JOIN msdrg_drg AS d ON d.version = g.version AND d.drg = g.drg
), families AS (
    SELECT e.version, e.mdc, e.drgs, min(e.drg) AS first_drg,
           e.mdc || ' ' || coalesce(e.family, '?') || ': ' || array_to_string(list_transform(list_sort(list(
               [e.drg, e.drg || coalesce(' ' || e.severity, '') || coalesce(' (' || e.weight || ')', '')])),
               lambda x: x[2]), ', ') AS text,
           list({'mdc': e.mdc, 'drg': e.drg, 'severity': e.severity, 'weight': e.weight}) AS entries
    FROM entries AS e
    GROUP BY e.version, e.mdc, e.drgs, e.family
), groups AS (
    SELECT version, mdc, drgs,
           array_to_string(list_transform(list_sort(list([first_drg, text])), lambda x: x[2]), '; ') AS text,
           flatten(list(entries)) AS entries
    FROM families
    GROUP BY version, mdc, drgs
)
SELECT
    l.version,
    l.dx,
    replace(l.dx, '.', '')                                                                AS dx_nodot,
    array_to_string(list_sort(list(l.mdc)), ', ')                                         AS mdc,
    array_to_string(list_transform(list_sort(list([l.mdc, g.text])), lambda x: x[2]), '; ') AS drg_family,
    list_sort(flatten(list(g.entries)))                                                   AS drgs
FROM lines AS l
JOIN groups AS g ON g.version = l.version AND g.mdc = l.mdc AND g.drgs = l.drgs
GROUP BY l.version, l.dx;

COMMENT ON VIEW claim_msdrg_dx IS 'Claims contract: for each diagnosis of each MS-DRG version, its MDC(s) and MS-DRG families with their DRGs and relative weights, as dx_drg_family gives them (Appendix B, Table 5), in one row (a claim row stays one row). Join: version = the version of the day (claim_msdrg_version) AND dx_nodot = the claim''s key. Appendix B lists the DRGs a code is used in as principal or as secondary diagnosis, so a code may have several MDCs and families.';
COMMENT ON COLUMN claim_msdrg_dx.version IS 'MS-DRG grouper version.';
COMMENT ON COLUMN claim_msdrg_dx.dx IS 'ICD-10-CM code, dotted (M96.1).';
COMMENT ON COLUMN claim_msdrg_dx.dx_nodot IS 'Join key: the code without the dot (M961).';
COMMENT ON COLUMN claim_msdrg_dx.mdc IS 'The MDC(s) of its Appendix B lines, comma separated in order (08; 01, 15).';
COMMENT ON COLUMN claim_msdrg_dx.drg_family IS 'For people: each MDC and family with its DRGs, severity split and weight, e.g. 08 Medical Back Problems: 551 with MCC (1.6761), 552 without MCC (0.9613); families separated by ; (no weight where the version has no Table 5 loaded).';
COMMENT ON COLUMN claim_msdrg_dx.drgs IS 'For programs: list of {mdc, drg, severity, weight} in MDC and DRG order; weight DECIMAL(8,4) exactly as Table 5 prints it (10% cap applied), NULL without Table 5; titles and lengths of stay in msdrg_drg.';

CREATE OR REPLACE VIEW claim_msdrg_cc AS
-- Per grouper version, the CC lists of its fiscal year (msdrg_ipps_version: a point release such as v43.1 has
-- none of its own and uses v43's, as cc_level and the code page do).
WITH m AS (SELECT version, msdrg_ipps_version(version) AS ipps FROM (SELECT DISTINCT version FROM claim_msdrg_version))
SELECT m.version, c.dx, replace(c.dx, '.', '') AS dx_nodot, c.level, c.exclusion_list
FROM m JOIN msdrg_cc AS c ON c.version = m.ipps;

COMMENT ON VIEW claim_msdrg_cc IS 'Claims contract: the diagnoses that are a CC or an MCC as secondary diagnosis in an MS-DRG version (msdrg_cc, IPPS Table 6I/6J/6K; a point release such as v43.1 gets the lists of its fiscal year, msdrg_ipps_version). Join: version = the version of the day AND dx_nodot = the secondary diagnosis'' key; no row: neither CC nor MCC (or no CC list loaded for the version).';
COMMENT ON COLUMN claim_msdrg_cc.version IS 'MS-DRG grouper version.';
COMMENT ON COLUMN claim_msdrg_cc.dx IS 'ICD-10-CM code, dotted.';
COMMENT ON COLUMN claim_msdrg_cc.dx_nodot IS 'Join key: the code without the dot.';
COMMENT ON COLUMN claim_msdrg_cc.level IS 'CC or MCC.';
COMMENT ON COLUMN claim_msdrg_cc.exclusion_list IS 'Its PDX exclusion list (claim_msdrg_cc_exclusion), NULL when Table 6K prints No Excl.';

CREATE OR REPLACE VIEW claim_msdrg_cc_exclusion AS
WITH m AS (SELECT version, msdrg_ipps_version(version) AS ipps FROM (SELECT DISTINCT version FROM claim_msdrg_version))
SELECT m.version, e.exclusion_list, e.pdx, replace(e.pdx, '.', '') AS pdx_nodot
FROM m JOIN msdrg_cc_exclusion AS e ON e.version = m.ipps;

COMMENT ON VIEW claim_msdrg_cc_exclusion IS 'Claims contract: IPPS Table 6K PDX collections (msdrg_cc_exclusion; a point release gets those of its fiscal year): a CC/MCC secondary diagnosis whose exclusion_list holds the claim''s principal diagnosis does not count as CC/MCC on that claim. Join: version, exclusion_list = claim_msdrg_cc.exclusion_list AND pdx_nodot = the principal diagnosis'' key.';
COMMENT ON COLUMN claim_msdrg_cc_exclusion.version IS 'MS-DRG grouper version.';
COMMENT ON COLUMN claim_msdrg_cc_exclusion.exclusion_list IS 'PDX collection number.';
COMMENT ON COLUMN claim_msdrg_cc_exclusion.pdx IS 'Principal diagnosis on the list, dotted.';
COMMENT ON COLUMN claim_msdrg_cc_exclusion.pdx_nodot IS 'Join key: the principal diagnosis without the dot.';

-- The release resolver: which loaded release of a dataset applies on a day. The ONE place this is decided:
-- the code page (CLI and parquet export), the other pages and the CLI's status all use release_on.
--
-- Rule: the release in effect on the day (release_in_effect, sql/releases.sql); when no loaded release is in
-- effect that day (day_covered is false: a release between is not loaded, or the day is after the last), the
-- latest one that took effect before it, flagged in_effect = false. A release that takes effect after the day
-- is never used: then there is no row.

CREATE OR REPLACE VIEW release_calendar AS
SELECT DISTINCT dataset, release, label, effective_from, effective_to
FROM releases;
COMMENT ON VIEW release_calendar IS 'Every loaded release once (releases has one row per download), with the dates from the catalog: what the release resolver (release_on) chooses from.';
COMMENT ON COLUMN release_calendar.dataset IS 'Dataset name (icd10cm, gems, msdrg, ipps, pfs, mcd, ...).';
COMMENT ON COLUMN release_calendar.release IS 'Release id.';
COMMENT ON COLUMN release_calendar.label IS 'Human-readable release name from the catalog.';
COMMENT ON COLUMN release_calendar.effective_from IS 'First day the release is in effect.';
COMMENT ON COLUMN release_calendar.effective_to IS 'Last day the release is in effect (NULL: open-ended).';

CREATE OR REPLACE MACRO release_on(ds, day) AS TABLE
SELECT c.dataset, c.release, c.label, c.effective_from, c.effective_to,
       release_in_effect(c.effective_from, c.effective_to, day) AS in_effect  -- = day_covered(ds, day) (sql/releases.sql)
FROM release_calendar AS c
WHERE c.dataset = ds AND c.effective_from <= CAST(day AS DATE)
ORDER BY in_effect DESC, c.effective_from DESC
LIMIT 1;
COMMENT ON MACRO TABLE release_on IS 'release_on(dataset, day): the loaded release of dataset for day, with in_effect (false when none is in effect that day and the latest one that took effect before it is used); no row when every loaded release takes effect after the day. The one release resolver of codeetl.';

-- The releases a code page uses: the ICD-10-CM release icd (or, when icd is NULL, the one of the day), and
-- the MS-DRG version, GEM release and PFS release of the day. Without a day, the day is icd's first day
-- (the CLI's --release).
CREATE OR REPLACE MACRO page_day(icd, day) AS
coalesce(CAST(day AS DATE),
         (SELECT c.effective_from FROM release_calendar c WHERE c.dataset = 'icd10cm' AND c.release = icd));
COMMENT ON MACRO page_day IS 'page_day(icd_release, day): the day a page is for: day, or when it is NULL the first day of ICD-10-CM release icd_release.';

CREATE OR REPLACE MACRO page_releases(icd, day) AS TABLE
SELECT
    page_day(icd, day) AS day,
    CASE WHEN icd IS NULL THEN (SELECT r FROM release_on('icd10cm', page_day(icd, day)) r)
         ELSE (SELECT {'dataset': c.dataset, 'release': c.release, 'label': c.label, 'effective_from': c.effective_from,
                       'effective_to': c.effective_to,
                       'in_effect': c.effective_from <= page_day(icd, day)
                                    AND (c.effective_to IS NULL OR page_day(icd, day) <= c.effective_to)}
               FROM release_calendar c WHERE c.dataset = 'icd10cm' AND c.release = icd) END AS icd10cm,
    (SELECT r FROM release_on('msdrg', page_day(icd, day)) r) AS msdrg,
    (SELECT r FROM release_on('gems', page_day(icd, day)) r) AS gems,
    (SELECT r FROM release_on('pfs', page_day(icd, day)) r) AS pfs,
    (SELECT r FROM release_on('icd9cm', page_day(icd, day)) r) AS icd9cm;
COMMENT ON MACRO TABLE page_releases IS 'page_releases(icd_release, day): the day and the release (dataset, release, label, effective_from, effective_to, in_effect) of icd10cm, msdrg, gems, pfs and icd9cm a code page uses: the ICD-10-CM release given, or the one of the day; each other dataset by release_on for the day (the first day of icd_release when day is NULL).';

-- Is the page of a day the exported one? The code_page export holds each ICD-10-CM release's pages for its first
-- day. A page for another day uses the same data when the day picks the same releases, each equally in or out
-- of effect, and says nothing else about the day (only the "no PFS release was in effect on <day>" reason
-- does): then it is the exported row but for its day field, and `codeetl code` reads that row.
CREATE OR REPLACE MACRO page_is_exported(icd, day) AS
(SELECT {'icd10cm': a.icd10cm, 'msdrg': a.msdrg, 'gems': a.gems, 'pfs': a.pfs, 'icd9cm': a.icd9cm}
        IS NOT DISTINCT FROM {'icd10cm': b.icd10cm, 'msdrg': b.msdrg, 'gems': b.gems, 'pfs': b.pfs, 'icd9cm': b.icd9cm}
        AND (a.pfs IS NOT NULL OR NOT EXISTS (SELECT 1 FROM release_calendar c WHERE c.dataset = 'pfs'))
 FROM page_releases(icd, day) a, page_releases(icd, NULL) b);
COMMENT ON MACRO page_is_exported IS 'page_is_exported(icd_release, day): true when the code page of ICD-10-CM release icd_release for day equals its exported page (code_page/icd10cm_release=<id>/, made for the release''s first day) except for the day field: the day picks the same release of every dataset, each equally in effect, and no reason on the page names the day.';

-- Provenance (shared by every dataset): which release of which dataset the warehouse holds, and the exact files it was built from.

CREATE TABLE releases (
    dataset         VARCHAR NOT NULL,
    release         VARCHAR NOT NULL,
    label           VARCHAR NOT NULL,
    effective_from  DATE    NOT NULL,
    effective_to    DATE,
    source_url      VARCHAR NOT NULL,
    fetched_from    VARCHAR NOT NULL,
    sha256          VARCHAR NOT NULL,
    fetched_at      TIMESTAMPTZ,
    loaded_at       TIMESTAMPTZ NOT NULL,
    derived_from    VARCHAR DEFAULT NULL,
    derivation      VARCHAR DEFAULT NULL
);
COMMENT ON TABLE releases IS 'Every dataset release loaded into this warehouse: one row per source download (a release published as two zips has two rows).';
COMMENT ON COLUMN releases.dataset IS 'Dataset name (catalog file name): icd10cm, gems, msdrg, ipps, pfs, mcd.';
COMMENT ON COLUMN releases.release IS 'Release id, e.g. 2026-04, v43, fy2026, 2026-B.';
COMMENT ON COLUMN releases.label IS 'Human-readable release name from the catalog.';
COMMENT ON COLUMN releases.effective_from IS 'First day the release is in effect.';
COMMENT ON COLUMN releases.effective_to IS 'Last day the release is in effect (NULL: open-ended).';
COMMENT ON COLUMN releases.source_url IS 'The official URL of the download (from the catalog).';
COMMENT ON COLUMN releases.fetched_from IS 'Where the bytes actually came from: the official URL, or the mirror file(s)/URL used in its place.';
COMMENT ON COLUMN releases.sha256 IS 'SHA-256 of the downloaded file (the zip, or the plain file; for a download assembled from several mirror files, the SHA-256 of their role=sha256 lines).';
COMMENT ON COLUMN releases.fetched_at IS 'When the file was downloaded (UTC).';
COMMENT ON COLUMN releases.loaded_at IS 'When this warehouse was built (UTC).';
COMMENT ON COLUMN releases.derived_from IS 'For a release the build derived rather than parsed (an ICD-10-CM release with addenda but no Tabular, code or order file of its own, e.g. 2027 offline): the release it was derived from (2026-04). NULL for releases loaded from their own files.';
COMMENT ON COLUMN releases.derivation IS 'How a derived release was made and what it lacks, in words shown on every page built from it: previous release 2026-04 + FY2027 order addenda (icd10cm_order_addenda_2027.txt): no notes or Tabular hierarchy for new codes. NULL when not derived.';

-- The one rule for "is this day covered": a loaded release of the dataset is in effect on it. The release
-- resolver (release_on, sql/pages/10_resolver.sql), icd10cm_valid_on, `codeetl validate`, the code page and
-- the web/API all ask it through these two macros; a day between two loaded releases (a release not loaded,
-- e.g. ICD-10-CM 2024-04) or outside them all is not covered: nothing is known of it.
CREATE OR REPLACE MACRO release_in_effect(effective_from, effective_to, day) AS
effective_from <= CAST(day AS DATE) AND (effective_to IS NULL OR CAST(day AS DATE) <= effective_to);
COMMENT ON MACRO release_in_effect IS 'release_in_effect(effective_from, effective_to, day): true when day lies within a release''s effective dates (effective_to NULL: open-ended). The predicate of day_covered and release_on.';

CREATE OR REPLACE MACRO day_covered(ds, day) AS
CASE WHEN day IS NULL THEN NULL
     ELSE EXISTS (SELECT 1 FROM releases AS r
                  WHERE r.dataset = ds AND release_in_effect(r.effective_from, r.effective_to, day)) END;
COMMENT ON MACRO day_covered IS 'day_covered(dataset, day): true when a loaded release of dataset is in effect on day; false for a day between loaded releases (a release not loaded) or outside them; NULL for a NULL day. The one rule for whether a day is covered: codeetl code, codeetl validate, icd10cm_valid_on and the release resolver use it.';

CREATE TABLE source_files (
    dataset     VARCHAR NOT NULL,
    release     VARCHAR NOT NULL,
    role        VARCHAR NOT NULL,
    file_name   VARCHAR NOT NULL,
    bytes       BIGINT  NOT NULL,
    sha256      VARCHAR NOT NULL,
    source_url  VARCHAR NOT NULL
);
COMMENT ON TABLE source_files IS 'Every file a parser read (an archive member or a plain download), with its own SHA-256: the sources block of a code page.';
COMMENT ON COLUMN source_files.dataset IS 'Dataset name.';
COMMENT ON COLUMN source_files.release IS 'Release id.';
COMMENT ON COLUMN source_files.role IS 'What the parser used the file as (catalog member role), e.g. tabular, codes, table5.';
COMMENT ON COLUMN source_files.file_name IS 'File name (archive member name or download name).';
COMMENT ON COLUMN source_files.bytes IS 'Size in bytes.';
COMMENT ON COLUMN source_files.sha256 IS 'SHA-256 of the file''s bytes.';
COMMENT ON COLUMN source_files.source_url IS 'The download it came from (official URL or mirror location).';

CREATE TABLE release_uses (
    dataset       VARCHAR NOT NULL,
    release       VARCHAR NOT NULL,
    uses_dataset  VARCHAR NOT NULL,
    uses_release  VARCHAR NOT NULL
);
COMMENT ON TABLE release_uses IS 'Releases that belong to a release of another dataset, as the catalog declares and this build loaded them: an IPPS final rule (ipps fy2026) belongs to one MS-DRG grouper version (msdrg v43), whose number its tables carry in their version column.';
COMMENT ON COLUMN release_uses.dataset IS 'Dataset of the release that uses another (ipps).';
COMMENT ON COLUMN release_uses.release IS 'Its release id (fy2026).';
COMMENT ON COLUMN release_uses.uses_dataset IS 'The dataset it belongs to (msdrg).';
COMMENT ON COLUMN release_uses.uses_release IS 'The release of that dataset (v43).';

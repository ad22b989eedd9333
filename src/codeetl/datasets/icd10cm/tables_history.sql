-- ICD-10-CM over time: the loaded releases in effective order, each code's spans of unchanged validity and
-- description, and the changes between consecutive loaded releases. Filled by derive_history.sql once every
-- release is loaded (and after derive.sql, which may add releases derived from addenda).

CREATE TABLE icd10cm_history_releases (
    release      VARCHAR  NOT NULL,
    seq          SMALLINT NOT NULL,
    period_from  DATE     NOT NULL,
    period_to    DATE,
    has_headers  BOOLEAN  NOT NULL,
    has_notes    BOOLEAN  NOT NULL,
    follows_gap  BOOLEAN  NOT NULL
);
COMMENT ON TABLE icd10cm_history_releases IS 'The ICD-10-CM releases that icd10cm_code_history and icd10cm_changes are built from: every loaded release that has codes in icd10cm_codes, in order of effective date, with the days it covers. A day covered by no row (a release in between not loaded, e.g. 2024-04) has no ICD-10-CM code set in this warehouse: icd10cm_valid_on answers NULL for it.';
COMMENT ON COLUMN icd10cm_history_releases.release IS 'Release id (icd10cm_codes.release, releases.release).';
COMMENT ON COLUMN icd10cm_history_releases.seq IS 'Position in effective order (1 = earliest loaded); consecutive releases differ by 1.';
COMMENT ON COLUMN icd10cm_history_releases.period_from IS 'First day the release is in effect (releases.effective_from).';
COMMENT ON COLUMN icd10cm_history_releases.period_to IS 'Last day it is in effect: releases.effective_to, cut to the day before the next loaded release takes effect (an open-ended release ends there); NULL when it is the latest loaded release and open-ended.';
COMMENT ON COLUMN icd10cm_history_releases.has_headers IS 'True when the release lists header codes (loaded from the Tabular XML or an order file); false for a release loaded from a code file only (billable codes only: its headers are unknown).';
COMMENT ON COLUMN icd10cm_history_releases.has_notes IS 'True when the release has instructional notes (icd10cm_notes, from the Tabular XML).';
COMMENT ON COLUMN icd10cm_history_releases.follows_gap IS 'True when days between the previous loaded release and this one are covered by no loaded release (every code span ends before such a gap).';

CREATE TABLE icd10cm_code_history (
    code           VARCHAR  NOT NULL,
    code_nodot     VARCHAR  NOT NULL,
    valid_from     DATE     NOT NULL,
    valid_to       DATE,
    is_billable    BOOLEAN  NOT NULL,
    description    VARCHAR  NOT NULL,
    first_release  VARCHAR  NOT NULL,
    last_release   VARCHAR  NOT NULL
);
COMMENT ON TABLE icd10cm_code_history IS 'Each ICD-10-CM code over the loaded releases (icd10cm_history_releases), one row per span of consecutive releases in which the code is listed with the same billable flag and the same description, dated from the catalog (like the valid_start_date/valid_end_date of OHDSI vocabularies). A span ends when the code is deleted, becomes a header or billable, or is retitled, and also before a gap between loaded releases: nothing is asserted for days no loaded release covers, so a code unchanged across a gap has two rows. Headers come only from releases that list them (has_headers): a release loaded from a code file only lists billable codes, so it neither lists a header nor ends its span — a header listed unchanged by the releases with headers on both sides of it has one span across it. The spans of a code never overlap.';
COMMENT ON COLUMN icd10cm_code_history.code IS 'Code as printed, dotted: M96.1.';
COMMENT ON COLUMN icd10cm_code_history.code_nodot IS 'Code without the dot, upper case (M961): join claims on it after removing dots and spaces and upper-casing (icd10cm_nodot).';
COMMENT ON COLUMN icd10cm_code_history.valid_from IS 'First day of the span: effective date of its first release.';
COMMENT ON COLUMN icd10cm_code_history.valid_to IS 'Last day of the span: the last day its last release is in effect (icd10cm_history_releases.period_to); NULL when that release is the latest loaded and open-ended.';
COMMENT ON COLUMN icd10cm_code_history.is_billable IS 'True for a valid (billable) code during the span; false for a header.';
COMMENT ON COLUMN icd10cm_code_history.description IS 'Long description during the span (icd10cm_codes.description).';
COMMENT ON COLUMN icd10cm_code_history.first_release IS 'First release of the span.';
COMMENT ON COLUMN icd10cm_code_history.last_release IS 'Last release of the span.';

CREATE TABLE icd10cm_changes (
    from_release  VARCHAR NOT NULL,
    to_release    VARCHAR NOT NULL,
    change        VARCHAR NOT NULL,
    code          VARCHAR NOT NULL,
    is_billable   BOOLEAN NOT NULL,
    note_type     VARCHAR,
    old           VARCHAR,
    new           VARCHAR
);
COMMENT ON TABLE icd10cm_changes IS 'What changed between each pair of consecutive loaded ICD-10-CM releases (icd10cm_history_releases seq n and n+1), one row per change: the table macro icd10cm_diff(from, to) gives the same for any two releases. Codes: added, deleted, revised (description), became_header, became_billable. The order-file addenda read: Add flag 1 = added billable + became_billable; Add flag 0 = added header + became_header; Delete flag 1 = deleted billable + became_header; Delete flag 0 = deleted header + became_billable; Revise = revised. Against a release loaded from a code file only (no headers): a header of the other release is not compared (unknown whether it is new or deleted), a code absent from the code-file release is reported added or deleted even if it was a header there (became_header/became_billable cannot be known). Notes: note_added and note_removed, comparing the set of (code, note_type, note) lines under code nodes when both releases have notes (chapter and section notes are not compared). A pair across a gap (a release in between not loaded) holds the changes of the releases skipped too.';
COMMENT ON COLUMN icd10cm_changes.from_release IS 'The earlier release.';
COMMENT ON COLUMN icd10cm_changes.to_release IS 'The later release.';
COMMENT ON COLUMN icd10cm_changes.change IS 'added, deleted, revised, became_header, became_billable, note_added or note_removed.';
COMMENT ON COLUMN icd10cm_changes.code IS 'Dotted code.';
COMMENT ON COLUMN icd10cm_changes.is_billable IS 'The code''s billable flag in to_release (in from_release when deleted): separates added codes (true) from added headers (false).';
COMMENT ON COLUMN icd10cm_changes.note_type IS 'For note changes: the note type (excludes1, inclusionTerm, ...); NULL for code changes.';
COMMENT ON COLUMN icd10cm_changes.old IS 'Description in from_release (NULL when added); for note_removed the note text.';
COMMENT ON COLUMN icd10cm_changes.new IS 'Description in to_release (NULL when deleted); for note_added the note text.';

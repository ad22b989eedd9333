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
COMMENT ON COLUMN icd10cm_history_releases.follows_gap IS 'True when days between the previous loaded release and this one are covered by no loaded release: those days are unknown (icd10cm_code_history.unknown_days; icd10cm_valid_on answers NULL for them).';

CREATE TABLE icd10cm_code_history (
    code               VARCHAR  NOT NULL,
    code_nodot         VARCHAR  NOT NULL,
    valid_from         DATE     NOT NULL,
    valid_to           DATE,
    is_billable        BOOLEAN  NOT NULL,
    description        VARCHAR,
    first_release      VARCHAR  NOT NULL,
    last_release       VARCHAR  NOT NULL,
    valid_from_source  VARCHAR  NOT NULL,
    valid_to_source    VARCHAR,
    unknown_days       STRUCT("from" DATE, "to" DATE)[] NOT NULL
);
COMMENT ON TABLE icd10cm_code_history IS 'Each ICD-10-CM code over the loaded releases (icd10cm_history_releases), one row per span of consecutive loaded releases that list the code with the same billable flag and the same description (like the valid_start_date/valid_end_date of OHDSI vocabularies). A span starts or ends only where a loaded release shows a change (the code is new, deleted, becomes a header or billable, or is retitled), at the first or last loaded release, or where the CDC conversion table dates the change: never at a gap. A gap between loaded releases (a release not loaded, e.g. 2024-04) inside a span is listed in unknown_days: nothing is known of those days; a code whose state differs across a gap gets two spans, the first ending before the gap and the second starting after it (valid_to_source / valid_from_source say so), unless the conversion table dates the change. Headers: a release loaded from a code file only lists valid codes; there, a code that another loaded release lists as a header and that has valid codes below it is a header too (a code with codes below it cannot be valid), so M54.5 is a header in 2024 and C50.A (new in FY2026) in 2026. The description is what the loaded releases print: a retitling in days no loaded release covers cannot be seen. The spans of a code never overlap.';
COMMENT ON COLUMN icd10cm_code_history.code IS 'Code as printed, dotted: M96.1.';
COMMENT ON COLUMN icd10cm_code_history.code_nodot IS 'Code without the dot, upper case (M961): join claims on it after removing dots and spaces and upper-casing (icd10cm_nodot).';
COMMENT ON COLUMN icd10cm_code_history.valid_from IS 'First day of the span: the effective date of its first release, or the day the CDC conversion table gives (valid_from_source).';
COMMENT ON COLUMN icd10cm_code_history.valid_to IS 'Last day of the span: the last day its last release is in effect (icd10cm_history_releases.period_to), or the day before the CDC conversion table dates its replacement; NULL when the last release is the latest loaded and open-ended.';
COMMENT ON COLUMN icd10cm_code_history.is_billable IS 'True for a valid (billable) code during the span; false for a header.';
COMMENT ON COLUMN icd10cm_code_history.description IS 'Long description during the span (icd10cm_codes.description); NULL for a header inferred in a code-file release (see the table) between two releases that print different titles for it: which one applied there is unknown.';
COMMENT ON COLUMN icd10cm_code_history.first_release IS 'First loaded release of the span.';
COMMENT ON COLUMN icd10cm_code_history.last_release IS 'Last loaded release of the span.';
COMMENT ON COLUMN icd10cm_code_history.valid_from_source IS 'What dates valid_from: change (the loaded release before it, with no gap between, lists the code otherwise or not at all: the change took effect that day); first loaded (the span starts at the first loaded release: the state may be older); after gap (the release before it is separated by a gap: the change happened on some day of the gap or on valid_from); conversion table (the CDC conversion table gives the day the code took effect, or, for a header, the day codes below it replaced it).';
COMMENT ON COLUMN icd10cm_code_history.valid_to_source IS 'What dates valid_to: change (the next loaded release, with no gap between, shows the change); last loaded (the span ends with the last loaded release: the state may go on); before gap (a gap follows: the change happened on some day of the gap or on the next release''s first day); conversion table (the CDC conversion table dates the code''s replacement the day after valid_to); NULL when valid_to is NULL.';
COMMENT ON COLUMN icd10cm_code_history.unknown_days IS 'The days from valid_from to valid_to that no loaded release covers ({from, to} ranges: a gap between loaded releases, or days the conversion table adds before the first or after the last listing): the state is unknown there, and icd10cm_valid_on answers NULL. Empty when every day of the span is covered.';

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
COMMENT ON TABLE icd10cm_changes IS 'What changed between each pair of consecutive loaded ICD-10-CM releases (icd10cm_history_releases seq n and n+1), one row per change: the table macro icd10cm_diff(from, to) gives the same for any two releases. Codes: added, deleted, revised (description), became_header, became_billable, no_longer_valid (a valid code of from_release that a to_release loaded from a code file only no longer lists, with valid codes below it there: it became a header, but that release lists no headers, so it is reported apart from the deleted codes; G35 in 2025 -> 2026). The order-file addenda read: Add flag 1 = added billable + became_billable; Add flag 0 = added header + became_header; Delete flag 1 = deleted billable + became_header; Delete flag 0 = deleted header + became_billable; Revise = revised. Against a release loaded from a code file only (no headers): a header of the other release is not compared (unknown whether it is new or deleted), a code absent from the code-file release is reported added or deleted even if it was a header there (became_header/became_billable cannot be read from it), except a valid code with valid codes below it there: no_longer_valid. Notes: note_added and note_removed, comparing the set of (code, note_type, note) lines under code nodes when both releases have notes (chapter and section notes are not compared). A pair across a gap (a release in between not loaded) holds the changes of the releases skipped too.';
COMMENT ON COLUMN icd10cm_changes.from_release IS 'The earlier release.';
COMMENT ON COLUMN icd10cm_changes.to_release IS 'The later release.';
COMMENT ON COLUMN icd10cm_changes.change IS 'added, deleted, revised, became_header, became_billable, no_longer_valid, note_added or note_removed.';
COMMENT ON COLUMN icd10cm_changes.code IS 'Dotted code.';
COMMENT ON COLUMN icd10cm_changes.is_billable IS 'The code''s billable flag in to_release (in from_release when deleted): separates added codes (true) from added headers (false).';
COMMENT ON COLUMN icd10cm_changes.note_type IS 'For note changes: the note type (excludes1, inclusionTerm, ...); NULL for code changes.';
COMMENT ON COLUMN icd10cm_changes.old IS 'Description in from_release (NULL when added); for note_removed the note text.';
COMMENT ON COLUMN icd10cm_changes.new IS 'Description in to_release (NULL when deleted); for note_added the note text.';

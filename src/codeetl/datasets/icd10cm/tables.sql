-- ICD-10-CM tables (dataset `icd10cm`): built from the CDC/CMS Tabular List XML, the valid-code file
-- and the order file of each release, the addenda and the conversion table. See the package docstring of
-- src/codeetl/datasets/icd10cm/__init__.py for the rules applied.

CREATE TABLE icd10cm_chapters (
    release     VARCHAR  NOT NULL,
    chapter     SMALLINT NOT NULL,
    title       VARCHAR  NOT NULL,
    first_code  VARCHAR,
    last_code   VARCHAR
);
COMMENT ON TABLE icd10cm_chapters IS 'ICD-10-CM Tabular List chapters, one row per chapter per release.';
COMMENT ON COLUMN icd10cm_chapters.release IS 'Release id from the source catalog, e.g. 2026-04 (FY2026 April 1 update).';
COMMENT ON COLUMN icd10cm_chapters.chapter IS 'Chapter number as printed (1-22).';
COMMENT ON COLUMN icd10cm_chapters.title IS 'Chapter title without its code range, e.g. Diseases of the musculoskeletal system and connective tissue.';
COMMENT ON COLUMN icd10cm_chapters.first_code IS 'First category of the chapter range printed after the title, e.g. M00.';
COMMENT ON COLUMN icd10cm_chapters.last_code IS 'Last category of the chapter range, e.g. M99.';

CREATE TABLE icd10cm_sections (
    release     VARCHAR  NOT NULL,
    section     VARCHAR  NOT NULL,
    chapter     SMALLINT NOT NULL,
    title       VARCHAR  NOT NULL,
    first_code  VARCHAR,
    last_code   VARCHAR,
    parent_section VARCHAR
);
COMMENT ON TABLE icd10cm_sections IS 'ICD-10-CM Tabular List sections (blocks of categories), one row per section per release.';
COMMENT ON COLUMN icd10cm_sections.release IS 'Release id from the source catalog.';
COMMENT ON COLUMN icd10cm_sections.section IS 'Section id as in the Tabular XML, e.g. M50-M54, or M96 for a one-category section.';
COMMENT ON COLUMN icd10cm_sections.chapter IS 'Chapter number the section belongs to.';
COMMENT ON COLUMN icd10cm_sections.title IS 'Section title without its code range.';
COMMENT ON COLUMN icd10cm_sections.first_code IS 'First category of the section.';
COMMENT ON COLUMN icd10cm_sections.last_code IS 'Last category of the section.';
COMMENT ON COLUMN icd10cm_sections.parent_section IS 'The smallest other section of the chapter whose range contains this one, in Tabular order (V40-V49 -> V00-V99 -> V00-X58 -> NULL; C7A -> C00-C96, not C76-C80). Some sections hold no codes of their own but head a range of sections and print notes for every code below them (V00-V99, T20-T32, M00-M25, Y62-Y84): follow parent_section to inherit them. NULL at the top.';

CREATE TABLE icd10cm_codes (
    release              VARCHAR  NOT NULL,
    code                 VARCHAR  NOT NULL,
    code_nodot           VARCHAR  NOT NULL,
    description          VARCHAR  NOT NULL,
    description_tabular  VARCHAR,
    is_billable          BOOLEAN  NOT NULL,
    parent               VARCHAR,
    category             VARCHAR  NOT NULL,
    section              VARCHAR,
    chapter              SMALLINT,
    depth                SMALLINT,
    seventh_char         VARCHAR,
    seventh_char_from    VARCHAR,
    seq                  INTEGER  NOT NULL
);
COMMENT ON TABLE icd10cm_codes IS 'Every ICD-10-CM code node per release: categories, subcategories and placeholder levels (headers, is_billable false) and every valid code (is_billable true), including the codes made by a 7th character. A release built from the Tabular XML has the full hierarchy; one built only from a code file has billable codes with category only.';
COMMENT ON COLUMN icd10cm_codes.release IS 'Release id from the source catalog.';
COMMENT ON COLUMN icd10cm_codes.code IS 'Code as printed, dotted: M96.1, S72.001A, M96.';
COMMENT ON COLUMN icd10cm_codes.code_nodot IS 'Code without the dot, as in claims and CMS flat files: M961.';
COMMENT ON COLUMN icd10cm_codes.description IS 'Official long description as CMS writes it in the code and order files (ASCII: diacritics removed). For 7th-character codes: base description, comma, meaning of the 7th character.';
COMMENT ON COLUMN icd10cm_codes.description_tabular IS 'Description as printed in the Tabular List (with diacritics); NULL when the release has no Tabular XML.';
COMMENT ON COLUMN icd10cm_codes.is_billable IS 'True for valid codes (HIPAA-valid for claims); false for headers (categories/subcategories with children, codes that still need a 7th character).';
COMMENT ON COLUMN icd10cm_codes.parent IS 'The code node directly above (for a 7th-character code: the code it extends); NULL for a category.';
COMMENT ON COLUMN icd10cm_codes.category IS 'Three-character category: M96.';
COMMENT ON COLUMN icd10cm_codes.section IS 'Section id (see icd10cm_sections).';
COMMENT ON COLUMN icd10cm_codes.chapter IS 'Chapter number (see icd10cm_chapters).';
COMMENT ON COLUMN icd10cm_codes.depth IS 'Depth in the Tabular: 1 for a category, 2 for its children, ...';
COMMENT ON COLUMN icd10cm_codes.seventh_char IS 'For a code made by a 7th character: that character (A, D, S, ...); else NULL.';
COMMENT ON COLUMN icd10cm_codes.seventh_char_from IS 'The code node whose sevenChrDef applies (for codes that take, or were made by, a 7th character).';
COMMENT ON COLUMN icd10cm_codes.seq IS 'Position in Tabular order (or order-file / code-file order) within the release.';

CREATE TABLE icd10cm_notes (
    release           VARCHAR  NOT NULL,
    node_kind         VARCHAR  NOT NULL,
    code              VARCHAR  NOT NULL,
    note_type         VARCHAR  NOT NULL,
    seq               SMALLINT NOT NULL,
    note_no           INTEGER  NOT NULL,
    note              VARCHAR  NOT NULL,
    referenced_codes  VARCHAR[] NOT NULL
);
COMMENT ON TABLE icd10cm_notes IS 'Every instructional note of the Tabular List, one row per note line, attached to the chapter, section or code node it is printed under. A line the XML splits off at a comma is joined back: onto the previous line of its block, or, when it is the first line (", if applicable, ..." under Code also / Code first), without its leading comma, so that it reads after the block heading as the Tabular prints it. Tables printed under a code (H54.8: categories of visual impairment) are rows with note_type table. Notes inside a sevenChrDef are in icd10cm_seventh_chars.notes.';
COMMENT ON COLUMN icd10cm_notes.release IS 'Release id from the source catalog.';
COMMENT ON COLUMN icd10cm_notes.node_kind IS 'chapter, section or code: what the note is printed under.';
COMMENT ON COLUMN icd10cm_notes.code IS 'The node: the chapter number (13), the section id (M50-M54) or the dotted code (M96).';
COMMENT ON COLUMN icd10cm_notes.note_type IS 'inclusionTerm, includes, excludes1, excludes2, codeFirst, useAdditionalCode, codeAlso, notes or sevenChrNote (the Tabular XML element names), or table: one line of a table printed under the code (H54.8), cells separated by " | ", the first line being the heading row.';
COMMENT ON COLUMN icd10cm_notes.seq IS 'Order of the note line within its note block.';
COMMENT ON COLUMN icd10cm_notes.note_no IS 'Position of the note line in the whole Tabular (document order).';
COMMENT ON COLUMN icd10cm_notes.note IS 'The note text, whitespace normalised.';
COMMENT ON COLUMN icd10cm_notes.referenced_codes IS 'Codes the note points to, from its parentheses: (T84.-) -> T84, (M02.0-) -> M02.0, (Z96-Z97) -> Z96-Z97 (a range stays one element), (I69. with final characters -23) -> I69. A reference looks like a code (a letter, then two letters or digits at least one of which is a digit) and falls in a category of the release: acronyms such as (MSSA), (HPV), [G6PD], (NOS) are not references. The code itself is kept as printed even where the release lacks it (FY2026 prints (G31.90) and (R10.1-R10.4-)). Empty for table lines.';

CREATE TABLE icd10cm_seventh_chars (
    release  VARCHAR NOT NULL,
    code     VARCHAR NOT NULL,
    char     VARCHAR NOT NULL,
    meaning  VARCHAR NOT NULL,
    notes    VARCHAR[] NOT NULL
);
COMMENT ON TABLE icd10cm_seventh_chars IS '7th-character definitions (sevenChrDef) per code node that carries them; they apply to every code below that node, the nearest definition winning.';
COMMENT ON COLUMN icd10cm_seventh_chars.release IS 'Release id from the source catalog.';
COMMENT ON COLUMN icd10cm_seventh_chars.code IS 'The node carrying the definition, e.g. S72.';
COMMENT ON COLUMN icd10cm_seventh_chars.char IS 'The 7th character, e.g. A.';
COMMENT ON COLUMN icd10cm_seventh_chars.meaning IS 'Its meaning, e.g. initial encounter for closed fracture.';
COMMENT ON COLUMN icd10cm_seventh_chars.notes IS 'Note lines the sevenChrDef prints after this character (what else it covers), e.g. S52/S72/S82 B: [initial encounter for open fracture NOS]; H35.31 3: [advanced dry stage]. Stored as the XML places them (W08 prints "Fall from stool" after S). Empty list when none.';

CREATE TABLE icd10cm_valid_codes (
    release      VARCHAR NOT NULL,
    code         VARCHAR NOT NULL,
    code_nodot   VARCHAR NOT NULL,
    description  VARCHAR NOT NULL,
    line_no      INTEGER NOT NULL
);
COMMENT ON TABLE icd10cm_valid_codes IS 'The official valid-code file (icd10cm_codes_YYYY.txt) as published, for releases where it was fetched. When the same release has a Tabular XML, the build checks that both give the same codes and descriptions.';
COMMENT ON COLUMN icd10cm_valid_codes.release IS 'Release id from the source catalog.';
COMMENT ON COLUMN icd10cm_valid_codes.code IS 'Dotted code.';
COMMENT ON COLUMN icd10cm_valid_codes.code_nodot IS 'Code as in the file, without the dot.';
COMMENT ON COLUMN icd10cm_valid_codes.description IS 'Long description as in the file.';
COMMENT ON COLUMN icd10cm_valid_codes.line_no IS 'Line number in the file.';

CREATE TABLE icd10cm_order (
    release            VARCHAR NOT NULL,
    order_number       INTEGER NOT NULL,
    code               VARCHAR NOT NULL,
    code_nodot         VARCHAR NOT NULL,
    is_billable        BOOLEAN NOT NULL,
    short_description  VARCHAR NOT NULL,
    description        VARCHAR NOT NULL
);
COMMENT ON TABLE icd10cm_order IS 'The official order file (icd10cm_order_YYYY.txt: codes in tabular order with header/valid flag, short and long descriptions), for releases where it was fetched.';
COMMENT ON COLUMN icd10cm_order.release IS 'Release id from the source catalog.';
COMMENT ON COLUMN icd10cm_order.order_number IS 'Order number (columns 1-5).';
COMMENT ON COLUMN icd10cm_order.code IS 'Dotted code.';
COMMENT ON COLUMN icd10cm_order.code_nodot IS 'Code as in the file (columns 7-13).';
COMMENT ON COLUMN icd10cm_order.is_billable IS 'Column 15: 1 = valid for HIPAA-covered transactions, 0 = header.';
COMMENT ON COLUMN icd10cm_order.short_description IS 'Short description (columns 17-76).';
COMMENT ON COLUMN icd10cm_order.description IS 'Long description (column 78 to end).';

CREATE TABLE icd10cm_addenda (
    release            VARCHAR NOT NULL,
    source             VARCHAR NOT NULL,
    line_no            INTEGER NOT NULL,
    action             VARCHAR NOT NULL,
    code               VARCHAR NOT NULL,
    code_nodot         VARCHAR NOT NULL,
    is_billable        BOOLEAN NOT NULL,
    short_description  VARCHAR,
    description        VARCHAR NOT NULL
);
COMMENT ON TABLE icd10cm_addenda IS 'The official addenda of a release: every code or header added, deleted or retitled since the previous fiscal year, one row per addenda line. From the order addenda (icd10cm_order_addenda_YYYY.txt: headers and valid codes, short and long titles) or, when only that is published, the code addenda (icd10cm_codes_addenda_YYYY.txt: valid codes, long titles). A code that turns from a valid code into a header is a delete with is_billable true and an add with is_billable false. When both releases of a pair are loaded, the build checks that the difference of their code sets is exactly this (gate icd10cm.addenda_equal_diff).';
COMMENT ON COLUMN icd10cm_addenda.release IS 'Release id the addenda lead to (2027: the changes from FY2026 to FY2027).';
COMMENT ON COLUMN icd10cm_addenda.source IS 'order_addenda or code_addenda: the catalog role of the file the row comes from.';
COMMENT ON COLUMN icd10cm_addenda.line_no IS 'Line number in that file.';
COMMENT ON COLUMN icd10cm_addenda.action IS 'add, delete, revise_from (the old titles) or revise_to (the new titles; it follows the revise_from line of the same code).';
COMMENT ON COLUMN icd10cm_addenda.code IS 'Dotted code (D69.11).';
COMMENT ON COLUMN icd10cm_addenda.code_nodot IS 'Code as in the file, without the dot (D6911).';
COMMENT ON COLUMN icd10cm_addenda.is_billable IS 'The line''s flag: true = valid for HIPAA-covered transactions, false = header (order addenda column 14; every code-addenda line is a valid code).';
COMMENT ON COLUMN icd10cm_addenda.short_description IS 'Short title (order addenda columns 24-83); NULL from the code addenda.';
COMMENT ON COLUMN icd10cm_addenda.description IS 'Long title.';

CREATE TABLE icd10cm_addenda_totals (
    release               VARCHAR NOT NULL,
    kind                  VARCHAR NOT NULL,
    count_before          INTEGER NOT NULL,
    count_after           INTEGER NOT NULL,
    additions             INTEGER NOT NULL,
    deletions             INTEGER NOT NULL,
    revisions             INTEGER NOT NULL,
    revisions_both        INTEGER,
    revisions_long_only   INTEGER,
    revisions_short_only  INTEGER,
    file_before           VARCHAR,
    file_after            VARCHAR,
    line_no               INTEGER NOT NULL
);
COMMENT ON TABLE icd10cm_addenda_totals IS 'The totals the addenda file prints in its trailer, one row for headers and one for codes (FY2027: codes 74,719 in icd10cm_order_2026.txt -> 74,879 in icd10cm_order_2027.txt, 190 additions, 30 deletions, 4 revisions; headers 23,467 -> 23,524). The parser checks them against the addenda lines; the build checks them against the code sets (gates icd10cm.addenda_counts_*).';
COMMENT ON COLUMN icd10cm_addenda_totals.release IS 'Release id the addenda lead to.';
COMMENT ON COLUMN icd10cm_addenda_totals.kind IS 'headers or codes (valid codes).';
COMMENT ON COLUMN icd10cm_addenda_totals.count_before IS 'Number in the previous release (N headers|codes in file_before).';
COMMENT ON COLUMN icd10cm_addenda_totals.count_after IS 'Number in this release (N headers|codes in file_after).';
COMMENT ON COLUMN icd10cm_addenda_totals.additions IS 'Additions printed in the trailer.';
COMMENT ON COLUMN icd10cm_addenda_totals.deletions IS 'Deletions printed in the trailer.';
COMMENT ON COLUMN icd10cm_addenda_totals.revisions IS 'Title revisions printed in the trailer.';
COMMENT ON COLUMN icd10cm_addenda_totals.revisions_both IS 'Of which revisions to both long and short titles.';
COMMENT ON COLUMN icd10cm_addenda_totals.revisions_long_only IS 'Of which revisions to the long title only.';
COMMENT ON COLUMN icd10cm_addenda_totals.revisions_short_only IS 'Of which revisions to the short title only.';
COMMENT ON COLUMN icd10cm_addenda_totals.file_before IS 'The previous release''s file the trailer counts (icd10cm_order_2026.txt).';
COMMENT ON COLUMN icd10cm_addenda_totals.file_after IS 'This release''s file the trailer counts (icd10cm_order_2027.txt).';
COMMENT ON COLUMN icd10cm_addenda_totals.line_no IS 'Line of the trailer block (Headers / Codes) in the addenda file.';

CREATE TABLE icd10cm_replacements (
    release         VARCHAR NOT NULL,
    line_no         INTEGER NOT NULL,
    code            VARCHAR NOT NULL,
    is_range        BOOLEAN NOT NULL,
    replaced_by     VARCHAR NOT NULL,
    effective       DATE    NOT NULL,
    effective_text  VARCHAR NOT NULL,
    previous_text   VARCHAR NOT NULL
);
COMMENT ON TABLE icd10cm_replacements IS 'The ICD-10-CM Conversion Table (CDC NCHS; the offline mirror holds a redistributor''s tab-separated export of the official .xlsx): for every code created since FY2017 (2016-10-01), the code(s) it replaced, one row per (previous code, new code): M54.5 -> M54.50, M54.51, M54.59 on 2021-10-01. New codes that replaced nothing (printed None) have no row.';
COMMENT ON COLUMN icd10cm_replacements.release IS 'Release id whose conversion table the row comes from (2025: the FY2025 table).';
COMMENT ON COLUMN icd10cm_replacements.line_no IS 'Line (row) of the table in the file.';
COMMENT ON COLUMN icd10cm_replacements.code IS 'The previous code as printed (M54.5), a category for "I63.-" or "a code from R11-" (I63, R11), or a range kept as one value (H35.20-H35.23; "Codes in Categories T15-T19" -> T15-T19, see is_range).';
COMMENT ON COLUMN icd10cm_replacements.is_range IS 'True when code is a range first-last.';
COMMENT ON COLUMN icd10cm_replacements.replaced_by IS 'The new code (Current code assignment).';
COMMENT ON COLUMN icd10cm_replacements.effective IS 'When the new code took effect: October 1 of the year printed (2021 -> 2021-10-01), or the date printed for mid-year updates (04/01/23 -> 2023-04-01, 01/01/21 -> 2021-01-01).';
COMMENT ON COLUMN icd10cm_replacements.effective_text IS 'The Effective cell as printed (2021, 04/01/23).';
COMMENT ON COLUMN icd10cm_replacements.previous_text IS 'The Previous Code(s) Assignment cell as printed (C56.1 and C56.2), whitespace normalised.';

CREATE TABLE icd10cm_new_codes (
    release         VARCHAR NOT NULL,
    line_no         INTEGER NOT NULL,
    code            VARCHAR NOT NULL,
    effective       DATE    NOT NULL,
    effective_text  VARCHAR NOT NULL
);
COMMENT ON TABLE icd10cm_new_codes IS 'Every code the ICD-10-CM Conversion Table (CDC NCHS) lists as new, with the day it took effect, whether or not it replaced a code (the "None" rows included; icd10cm_replacements holds what each replaced). The table lists every code created since FY2017 (effective 2016-10-01) up to its own fiscal year, so a valid code of a release up to then that it does not list was created before FY2017: it has been in ICD-10-CM since 2015-10-01, its first day (the FY2016 code set was not updated).';
COMMENT ON COLUMN icd10cm_new_codes.release IS 'Release id whose conversion table the row comes from (2025: the FY2025 table, covering codes created up to 2024-10-01).';
COMMENT ON COLUMN icd10cm_new_codes.line_no IS 'Line (row) of the table in the file; a code printed twice is kept once, at its first line.';
COMMENT ON COLUMN icd10cm_new_codes.code IS 'The new code (Current code assignment), dotted.';
COMMENT ON COLUMN icd10cm_new_codes.effective IS 'When the code took effect: October 1 of the year printed (2021 -> 2021-10-01), or the date printed for mid-year updates (04/01/23 -> 2023-04-01).';
COMMENT ON COLUMN icd10cm_new_codes.effective_text IS 'The Effective cell as printed (2021, 04/01/23).';

CREATE TABLE icd10cm_addenda_base (
    release         VARCHAR NOT NULL,
    base_release    VARCHAR,
    base_codes      INTEGER,
    base_headers    INTEGER,
    count_matches   BOOLEAN,
    derived         BOOLEAN NOT NULL
);
COMMENT ON TABLE icd10cm_addenda_base IS 'For every loaded release with addenda, the loaded release the addenda are read against (filled at build time by derive.sql): the latest release in effect before it whose number of valid codes equals the count_before of the addenda trailer, else simply the latest release before it. The gates compare the two code sets with the addenda; a release with addenda but no code file, order file or Tabular of its own is derived from it (derived = true).';
COMMENT ON COLUMN icd10cm_addenda_base.release IS 'Release id of the addenda (2027).';
COMMENT ON COLUMN icd10cm_addenda_base.base_release IS 'The release they are read against (2026-04); NULL when no ICD-10-CM release before it is loaded.';
COMMENT ON COLUMN icd10cm_addenda_base.base_codes IS 'Valid codes in base_release.';
COMMENT ON COLUMN icd10cm_addenda_base.base_headers IS 'Headers in base_release (0 for a release loaded from the code file only).';
COMMENT ON COLUMN icd10cm_addenda_base.count_matches IS 'True when base_codes equals the count_before the addenda trailer prints (NULL without a trailer).';
COMMENT ON COLUMN icd10cm_addenda_base.derived IS 'True when this build made the release''s codes from base_release and the addenda (see releases.derivation).';

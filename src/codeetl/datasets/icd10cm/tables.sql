-- ICD-10-CM tables (dataset `icd10cm`): built from the CDC/CMS Tabular List XML, the valid-code file
-- and the order file of each release. See src/codeetl/parsers/icd10cm.py for the rules applied.

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
    last_code   VARCHAR
);
COMMENT ON TABLE icd10cm_sections IS 'ICD-10-CM Tabular List sections (blocks of categories), one row per section per release.';
COMMENT ON COLUMN icd10cm_sections.release IS 'Release id from the source catalog.';
COMMENT ON COLUMN icd10cm_sections.section IS 'Section id as in the Tabular XML, e.g. M50-M54, or M96 for a one-category section.';
COMMENT ON COLUMN icd10cm_sections.chapter IS 'Chapter number the section belongs to.';
COMMENT ON COLUMN icd10cm_sections.title IS 'Section title without its code range.';
COMMENT ON COLUMN icd10cm_sections.first_code IS 'First category of the section.';
COMMENT ON COLUMN icd10cm_sections.last_code IS 'Last category of the section.';

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
COMMENT ON TABLE icd10cm_notes IS 'Every instructional note of the Tabular List, one row per note line, attached to the chapter, section or code node it is printed under.';
COMMENT ON COLUMN icd10cm_notes.release IS 'Release id from the source catalog.';
COMMENT ON COLUMN icd10cm_notes.node_kind IS 'chapter, section or code: what the note is printed under.';
COMMENT ON COLUMN icd10cm_notes.code IS 'The node: the chapter number (13), the section id (M50-M54) or the dotted code (M96).';
COMMENT ON COLUMN icd10cm_notes.note_type IS 'inclusionTerm, includes, excludes1, excludes2, codeFirst, useAdditionalCode, codeAlso, notes or sevenChrNote (the Tabular XML element names).';
COMMENT ON COLUMN icd10cm_notes.seq IS 'Order of the note line within its note block.';
COMMENT ON COLUMN icd10cm_notes.note_no IS 'Position of the note line in the whole Tabular (document order).';
COMMENT ON COLUMN icd10cm_notes.note IS 'The note text, whitespace normalised.';
COMMENT ON COLUMN icd10cm_notes.referenced_codes IS 'Codes the note points to, from its parentheses: (T84.-) -> T84, (M02.0-) -> M02.0, (Z96-Z97) -> Z96-Z97 (a range stays one element).';

CREATE TABLE icd10cm_seventh_chars (
    release  VARCHAR NOT NULL,
    code     VARCHAR NOT NULL,
    char     VARCHAR NOT NULL,
    meaning  VARCHAR NOT NULL
);
COMMENT ON TABLE icd10cm_seventh_chars IS '7th-character definitions (sevenChrDef) per code node that carries them; they apply to every code below that node, the nearest definition winning.';
COMMENT ON COLUMN icd10cm_seventh_chars.release IS 'Release id from the source catalog.';
COMMENT ON COLUMN icd10cm_seventh_chars.code IS 'The node carrying the definition, e.g. S72.';
COMMENT ON COLUMN icd10cm_seventh_chars.char IS 'The 7th character, e.g. A.';
COMMENT ON COLUMN icd10cm_seventh_chars.meaning IS 'Its meaning, e.g. initial encounter for closed fracture.';

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

-- The search index (SQLite FTS5, `search.sqlite` in the build folder): codeetl.build.search_index writes it
-- with the statements below (`documents`, `words` and the `*_rows` queries run in DuckDB on the build's connection,
-- the others in SQLite); codeetl.pages.search reads it.

-- name: documents
-- One search document per code node of every ICD-10-CM release: its code, its title (the Tabular's spelling
-- where there is one), whether it is billable, the inclusion terms printed under it, the notes elsewhere that
-- name it (an Excludes2 of section T80-T88 reads "postlaminectomy syndrome NEC (M96.1)": how the Tabular
-- itself refers to the code) and its own other notes.
-- Documents equal across releases are written once (`doc`), each release listing its own (`release_code`).
CREATE OR REPLACE TEMP TABLE sx_docs AS
SELECT c.release, c.code, c.code_nodot, coalesce(c.description_tabular, c.description) AS title, c.is_billable,
       coalesce(string_agg(n.note, ' | ' ORDER BY n.seq, n.note_no) FILTER (WHERE n.note_type = 'inclusionTerm'), '') AS terms,
       coalesce(any_value(x.cited), '') AS cited,
       coalesce(string_agg(n.note, ' | ' ORDER BY n.note_type, n.seq, n.note_no) FILTER (WHERE n.note_type <> 'inclusionTerm'), '') AS notes
FROM icd10cm_codes AS c
LEFT JOIN icd10cm_notes AS n ON n.release = c.release AND n.node_kind = 'code' AND n.code = c.code
LEFT JOIN (SELECT release, rtrim(code, '-') AS code, string_agg(DISTINCT note, ' | ' ORDER BY note) AS cited
           FROM (SELECT release, unnest(referenced_codes) AS code, note FROM icd10cm_notes WHERE note_type <> 'inclusionTerm')
           GROUP BY ALL) AS x ON x.release = c.release AND x.code = c.code
GROUP BY c.release, c.code, c.code_nodot, c.description_tabular, c.description, c.is_billable;
CREATE OR REPLACE TEMP TABLE sx_distinct AS
-- Ids in order of title length: the index returns matches in id order, so the shortest (most general) title
-- comes first, and a search stops after the first matches of the release instead of ranking thousands.
SELECT row_number() OVER (ORDER BY length(title), code_nodot, title, is_billable, terms, cited, notes) AS id, *
FROM (SELECT DISTINCT code, code_nodot, title, is_billable, terms, cited, notes FROM sx_docs);

-- name: doc_rows
SELECT id, code, code_nodot, title, is_billable::INTEGER, terms, cited, notes FROM sx_distinct ORDER BY id;

-- name: release_rows
SELECT d.release, d.code_nodot, x.id
FROM sx_docs AS d
JOIN sx_distinct AS x USING (code, code_nodot, title, is_billable, terms, cited, notes)
ORDER BY d.release, d.code_nodot;

-- name: words
-- The words of the titles and inclusion terms (lower case, accents removed) and how many documents use
-- each: the vocabulary a misspelt query word is corrected against.
CREATE OR REPLACE TEMP TABLE sx_words AS
SELECT row_number() OVER (ORDER BY w) AS id, w AS word, count(*) AS n
FROM (SELECT DISTINCT id, unnest(regexp_extract_all(lower(strip_accents(title || ' ' || terms)), '[a-z]{3,}')) AS w
      FROM sx_distinct)
GROUP BY w;

-- name: word_rows
SELECT id, word, n FROM sx_words ORDER BY id;

-- name: variant_rows
-- Each word with one letter deleted, and two for words of six letters or more (a query word of eight or
-- more is corrected up to two edits, so to a word of six or more): two words are within d edits (insertions,
-- deletions, substitutions, transpositions of neighbours) only if deleting at most d letters from each gives
-- the same text, so the words nearest a misspelt one are found by looking up its own deletions.
WITH one AS (
    SELECT id, word, substr(word, 1, i - 1) || substr(word, i + 1) AS variant
    FROM (SELECT id, word, unnest(range(1, length(word) + 1)) AS i FROM sx_words)
), two AS (
    SELECT id, substr(variant, 1, i - 1) || substr(variant, i + 1) AS variant
    FROM (SELECT id, variant, unnest(range(1, length(variant) + 1)) AS i FROM one WHERE length(word) >= 6)
)
SELECT DISTINCT variant, id
FROM (SELECT id, word AS variant FROM sx_words UNION ALL SELECT id, variant FROM one UNION ALL SELECT id, variant FROM two)
ORDER BY variant, id;

-- name: cleanup
DROP TABLE IF EXISTS sx_docs;
DROP TABLE IF EXISTS sx_distinct;
DROP TABLE IF EXISTS sx_words;

-- name: schema
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);  -- 'format': the index's layout version
CREATE TABLE doc (
    id         INTEGER PRIMARY KEY,
    code       TEXT NOT NULL,     -- dotted (M96.1)
    code_nodot TEXT NOT NULL,     -- M961
    title      TEXT NOT NULL,     -- the Tabular's title, else the code file's
    billable   INTEGER NOT NULL,  -- 1 for a valid (billable) code, 0 for a header
    terms      TEXT NOT NULL,     -- its inclusion terms, ' | ' between them
    cited      TEXT NOT NULL,     -- the notes elsewhere whose referenced codes name it, ' | ' between them
    notes      TEXT NOT NULL      -- its other notes (excludes, code first, ...), ' | ' between them
);
CREATE TABLE release_code (
    release    TEXT NOT NULL,     -- an ICD-10-CM release id
    code_nodot TEXT NOT NULL,
    doc        INTEGER NOT NULL,  -- its document in that release
    PRIMARY KEY (release, code_nodot)
) WITHOUT ROWID;
CREATE TABLE word (id INTEGER PRIMARY KEY, word TEXT NOT NULL UNIQUE, n INTEGER NOT NULL);
CREATE VIRTUAL TABLE doc_fts USING fts5(title, terms, cited, notes, content = 'doc', content_rowid = 'id',
                                        tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3');
-- The documents that notes elsewhere name (a few thousand), for the first tier of text matches.
CREATE VIRTUAL TABLE cited_fts USING fts5(title, cited, tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3');
-- The deletion neighbourhood of the words (see `variant_rows`): what a misspelt word is looked up by.
CREATE TABLE word_variant (
    variant    TEXT NOT NULL,     -- a word with up to two letters deleted (or the word itself)
    word       INTEGER NOT NULL,  -- word.id
    PRIMARY KEY (variant, word)
) WITHOUT ROWID;

-- name: finish
CREATE INDEX release_code_doc ON release_code (doc, release);
INSERT INTO doc_fts (doc_fts) VALUES ('rebuild');
INSERT INTO cited_fts (rowid, title, cited) SELECT id, title, cited FROM doc WHERE cited <> '';
INSERT INTO doc_fts (doc_fts) VALUES ('optimize');

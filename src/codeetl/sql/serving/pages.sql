-- The page store (SQLite, one file per ICD-10-CM release in the build folder's `pages/`; codeetl.build.page_store
-- writes it, codeetl.pages.store reads it): the code_page export, one JSON value per distinct column value.
-- One value numbering is shared by the releases in effective-date order: a release's file holds the values
-- the earlier releases' files lack and its pages, whose refs may point into the earlier files (meta 'earlier').
-- Ids are global in refs (the values of the first file, then of the second, ...); in a file's value table they
-- count from 1, after meta 'base' (how many values the earlier files hold).

-- name: schema
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,  -- 'format' (the store's layout version), 'columns' (JSON list of the page's columns in order),
                             -- 'inline' (JSON list of the columns kept in page.own instead of shared values),
                             -- 'pages', 'values' (how many this file holds), 'base' (how many the earlier files
                             -- hold), 'earlier' (JSON list of the earlier releases' file names, in order)
    value TEXT NOT NULL
);
CREATE TABLE value (
    id         INTEGER PRIMARY KEY,  -- counted from 1 in this file; page.refs refer to it as meta 'base' + id
    compressed INTEGER NOT NULL,     -- 1: body is zlib-compressed UTF-8 JSON; 0: body is the JSON text
    body       BLOB NOT NULL
);
CREATE TABLE value_hash (
    id   INTEGER PRIMARY KEY,  -- the value's id (value.id)
    hash BLOB NOT NULL         -- MD5 of the column's name, a NUL and the value's JSON text: how the next release's store finds the values it shares
);
CREATE TABLE page (
    release TEXT NOT NULL,  -- the ICD-10-CM release of the exported page (its first day)
    code    TEXT NOT NULL,  -- the code, dotted (M96.1)
    refs    TEXT NOT NULL,  -- the value ids of the page's shared columns (meta 'columns' but those in meta 'inline'), in order, comma-separated
    own_compressed INTEGER NOT NULL,  -- 1: own is zlib-compressed UTF-8 JSON; 0: JSON text (or NULL)
    own     BLOB,           -- the page's own columns (meta 'inline', e.g. history: no two pages share one), a JSON object
    PRIMARY KEY (release, code)
) WITHOUT ROWID;

-- name: page
SELECT refs, own_compressed, own FROM page WHERE release = ? AND code = ?;

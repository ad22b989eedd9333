-- The page store (SQLite, `pages.sqlite` in the build folder; codeetl.build.page_store writes it, 
-- codeetl.pages.store reads it): the code_page export, one JSON value per distinct column value.

-- name: schema
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,  -- 'format' (the store's layout version), 'columns' (JSON list of the page's columns in order)
    value TEXT NOT NULL
);
CREATE TABLE value (
    id         INTEGER PRIMARY KEY,  -- referred to by page.refs
    compressed INTEGER NOT NULL,     -- 1: body is zlib-compressed UTF-8 JSON; 0: body is the JSON text
    body       BLOB NOT NULL
);
CREATE TABLE page (
    release TEXT NOT NULL,  -- the ICD-10-CM release of the exported page (its first day)
    code    TEXT NOT NULL,  -- the code, dotted (M96.1)
    refs    TEXT NOT NULL,  -- the value ids of the page's columns, in meta 'columns' order, comma-separated
    PRIMARY KEY (release, code)
) WITHOUT ROWID;

-- name: page
SELECT refs FROM page WHERE release = ? AND code = ?;

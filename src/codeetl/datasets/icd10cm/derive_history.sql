-- ICD-10-CM history (tables in tables_history.sql): runs after derive.sql, so releases derived from addenda
-- are included. Order: the releases, the code spans, the diff macro, the changes of consecutive releases. The
-- releases and the spans come from the macros of tables_history_upto.sql (the history as of a release; NULL: all).

INSERT INTO icd10cm_history_releases SELECT * FROM icd10cm_history_releases_upto(NULL);

-- The code spans (see the COMMENT of icd10cm_code_history). Steps:
--   listed    every (code, release) listing: the code's own row in the release, and, in a release loaded from a
--             code file only (no headers), an inferred header row for a code that some loaded release lists as
--             a header and that has valid codes below it in this release (a code with codes below it is a header);
--             an inferred header's title is that of the listings around it when they agree, else unknown (NULL);
--   spans     consecutive releases listing the code with the same billable flag and title; a release that does
--             not list it (or a change of flag or title) ends the span; a gap between loaded releases does NOT
--             end a span whose state is the same on both sides: its days are listed in unknown_days;
--   edges     each edge says what dates it: a loaded release showing the change ('change'), the first or last
--             loaded release ('first loaded', 'last loaded': it may have begun earlier, gone on later), a gap
--             ('after gap', 'before gap': the change lies in the gap), or the CDC conversion table;
--   dated     where an edge lies before the first loaded release or in a gap, the conversion table dates it when
--             it can: a valid code's first day (icd10cm_new_codes), a valid code's end (replaced on D: valid
--             until D - 1), a header's first day (its code replaced by codes below it on D).
--
INSERT INTO icd10cm_code_history BY NAME SELECT * FROM icd10cm_code_history_upto(NULL, NULL) ORDER BY code, valid_from;

-- icd10cm_diff(from_release, to_release): the rows of icd10cm_changes for any two releases (see the COMMENT
-- of icd10cm_changes for what is compared when a release has no headers or no notes). Inside the macro the
-- parameter names hide nothing: every column is qualified. Every CTE is NOT MATERIALIZED (each is a filtered
-- scan, cheap to read twice): DuckDB 2.0 deadlocks (0 % CPU, for ever) when a LIMIT stops early a query whose
-- join reads materialized CTEs on both sides, and it materializes a CTE used twice by default
-- (icd10cm_diff('2025', '2026') LIMIT 3 hung).
CREATE OR REPLACE MACRO icd10cm_diff(from_release, to_release) AS TABLE
WITH a AS NOT MATERIALIZED (
    SELECT c.code, c.code_nodot, c.is_billable, c.description FROM icd10cm_codes AS c WHERE c.release = from_release
), b AS NOT MATERIALIZED (
    SELECT c.code, c.code_nodot, c.is_billable, c.description FROM icd10cm_codes AS c WHERE c.release = to_release
), kinds AS NOT MATERIALIZED (
    SELECT
        from_release IN (SELECT h.release FROM icd10cm_codes AS h WHERE NOT h.is_billable) AS a_headers,
        to_release   IN (SELECT h.release FROM icd10cm_codes AS h WHERE NOT h.is_billable) AS b_headers,
        from_release IN (SELECT n.release FROM icd10cm_notes AS n)
            AND to_release IN (SELECT n.release FROM icd10cm_notes AS n)                   AS notes
), below AS NOT MATERIALIZED (  -- when to_release lists no headers: every prefix (3 characters or more) of its valid codes
    SELECT DISTINCT y.code_nodot[1:p.k] AS prefix
    FROM icd10cm_codes AS y
    CROSS JOIN LATERAL (SELECT unnest(range(3, len(y.code_nodot))) AS k) AS p
    WHERE y.release = to_release AND y.is_billable
      AND NOT EXISTS (SELECT 1 FROM icd10cm_codes AS h WHERE h.release = to_release AND NOT h.is_billable)
), codes AS NOT MATERIALIZED (
    SELECT
        coalesce(b.code, a.code) AS code,
        CASE WHEN a.code IS NULL THEN 'added'
             WHEN b.code IS NULL AND a.is_billable AND w.prefix IS NOT NULL THEN 'no_longer_valid'
             WHEN b.code IS NULL THEN 'deleted'
             WHEN a.is_billable AND NOT b.is_billable THEN 'became_header'
             WHEN b.is_billable AND NOT a.is_billable THEN 'became_billable'
             ELSE 'revised' END AS change,
        coalesce(b.is_billable, a.is_billable) AS is_billable,
        a.description AS old,
        b.description AS new
    FROM a FULL JOIN b ON b.code = a.code
    LEFT JOIN below AS w ON w.prefix = a.code_nodot
    CROSS JOIN kinds AS k
    WHERE (a.code IS NULL AND (b.is_billable OR k.a_headers))
       OR (b.code IS NULL AND (a.is_billable OR k.b_headers))
       OR (a.is_billable <> b.is_billable OR a.description <> b.description)
), na AS NOT MATERIALIZED (
    SELECT DISTINCT n.code, n.note_type, n.note
    FROM icd10cm_notes AS n WHERE n.release = from_release AND n.node_kind = 'code'
), nb AS NOT MATERIALIZED (
    SELECT DISTINCT n.code, n.note_type, n.note
    FROM icd10cm_notes AS n WHERE n.release = to_release AND n.node_kind = 'code'
), notes AS NOT MATERIALIZED (
    SELECT
        coalesce(nb.code, na.code) AS code,
        CASE WHEN na.code IS NULL THEN 'note_added' ELSE 'note_removed' END AS change,
        coalesce(nb.note_type, na.note_type) AS note_type,
        na.note AS old,
        nb.note AS new
    FROM na FULL JOIN nb ON nb.code = na.code AND nb.note_type = na.note_type AND nb.note = na.note
    CROSS JOIN kinds AS k
    WHERE k.notes AND (na.code IS NULL OR nb.code IS NULL)
)
SELECT from_release AS from_release, to_release AS to_release, c.change, c.code, c.is_billable,
       NULL::VARCHAR AS note_type, c.old, c.new
FROM codes AS c
UNION ALL
SELECT from_release, to_release, n.change, n.code, coalesce(b.is_billable, a.is_billable, false),
       n.note_type, n.old, n.new
FROM notes AS n
LEFT JOIN a ON a.code = n.code
LEFT JOIN b ON b.code = n.code;

COMMENT ON MACRO TABLE icd10cm_diff IS 'icd10cm_diff(from_release, to_release): table of the ICD-10-CM changes between any two loaded releases, with the columns and rules of icd10cm_changes (which holds it for each pair of consecutive releases). SELECT change, count(*) FROM icd10cm_diff(''2025'', ''2026'') GROUP BY ALL.';

INSERT INTO icd10cm_changes
SELECT d.*
FROM icd10cm_history_releases AS f
JOIN icd10cm_history_releases AS t ON t.seq = f.seq + 1,
LATERAL icd10cm_diff(f.release, t.release) AS d
ORDER BY f.seq, d.change, d.code, d.note_type, d.old, d.new;

-- ICD-10-CM history (tables in tables_history.sql): runs after derive.sql, so releases derived from addenda
-- are included. Order: the releases, the code spans, the diff macro, the changes of consecutive releases.

INSERT INTO icd10cm_history_releases
WITH loaded AS (
    SELECT DISTINCT r.release, r.effective_from, r.effective_to
    FROM releases AS r
    WHERE r.dataset = 'icd10cm' AND r.release IN (SELECT DISTINCT c.release FROM icd10cm_codes AS c)
), ordered AS (
    SELECT *,
           row_number() OVER (ORDER BY effective_from, release)     AS seq,
           lead(effective_from) OVER (ORDER BY effective_from, release) AS next_from
    FROM loaded
), periods AS (
    SELECT release, seq, effective_from AS period_from,
           CASE WHEN next_from IS NULL THEN effective_to
                ELSE least(coalesce(effective_to, next_from - 1), next_from - 1) END AS period_to
    FROM ordered
)
SELECT
    p.release,
    p.seq,
    p.period_from,
    p.period_to,
    p.release IN (SELECT c.release FROM icd10cm_codes AS c WHERE NOT c.is_billable) AS has_headers,
    p.release IN (SELECT n.release FROM icd10cm_notes AS n)                         AS has_notes,
    coalesce(lag(p.period_to) OVER (ORDER BY p.seq) + 1 < p.period_from, false)      AS follows_gap
FROM periods AS p;

-- Gaps and islands: a span starts where the code was not listed by the previous release that could list
-- it (for a header: the previous release with headers — a code file lists valid codes only, so a header's
-- absence from it says nothing), or a gap in the calendar lies between, or the billable flag or the
-- description differs from the previous listing's.
INSERT INTO icd10cm_code_history
WITH rel AS (
    SELECT r.*,
           sum(r.follows_gap::INTEGER) OVER (ORDER BY r.seq ROWS UNBOUNDED PRECEDING) AS gap_no,
           (SELECT max(h.seq) FROM icd10cm_history_releases AS h WHERE h.has_headers AND h.seq < r.seq) AS prev_header_seq
    FROM icd10cm_history_releases AS r
), listed AS (
    SELECT c.code, c.code_nodot, c.is_billable, c.description, r.seq, r.gap_no,
           CASE WHEN c.is_billable THEN r.seq - 1 ELSE r.prev_header_seq END AS prev_seq
    FROM icd10cm_codes AS c
    JOIN rel AS r ON r.release = c.release
), marked AS (
    SELECT *,
           CASE WHEN lag(seq) OVER w = prev_seq AND lag(gap_no) OVER w = gap_no
                     AND lag(is_billable) OVER w = is_billable AND lag(description) OVER w = description
                THEN 0 ELSE 1 END AS starts
    FROM listed
    WINDOW w AS (PARTITION BY code ORDER BY seq)
), spans AS (
    SELECT *, sum(starts) OVER (PARTITION BY code ORDER BY seq ROWS UNBOUNDED PRECEDING) AS span
    FROM marked
), grouped AS (
    SELECT code, span, any_value(code_nodot) AS code_nodot, any_value(is_billable) AS is_billable,
           any_value(description) AS description, min(seq) AS first_seq, max(seq) AS last_seq
    FROM spans
    GROUP BY code, span
)
SELECT g.code, upper(g.code_nodot), f.period_from, l.period_to, g.is_billable, g.description, f.release, l.release
FROM grouped AS g
JOIN icd10cm_history_releases AS f ON f.seq = g.first_seq
JOIN icd10cm_history_releases AS l ON l.seq = g.last_seq
ORDER BY g.code, f.period_from;

-- icd10cm_diff(from_release, to_release): the rows of icd10cm_changes for any two releases (see the COMMENT
-- of icd10cm_changes for what is compared when a release has no headers or no notes). Inside the macro the
-- parameter names hide nothing: every column is qualified.
CREATE OR REPLACE MACRO icd10cm_diff(from_release, to_release) AS TABLE
WITH a AS (
    SELECT c.code, c.is_billable, c.description FROM icd10cm_codes AS c WHERE c.release = from_release
), b AS (
    SELECT c.code, c.is_billable, c.description FROM icd10cm_codes AS c WHERE c.release = to_release
), kinds AS (
    SELECT
        from_release IN (SELECT h.release FROM icd10cm_codes AS h WHERE NOT h.is_billable) AS a_headers,
        to_release   IN (SELECT h.release FROM icd10cm_codes AS h WHERE NOT h.is_billable) AS b_headers,
        from_release IN (SELECT n.release FROM icd10cm_notes AS n)
            AND to_release IN (SELECT n.release FROM icd10cm_notes AS n)                   AS notes
), codes AS (
    SELECT
        coalesce(b.code, a.code) AS code,
        CASE WHEN a.code IS NULL THEN 'added'
             WHEN b.code IS NULL THEN 'deleted'
             WHEN a.is_billable AND NOT b.is_billable THEN 'became_header'
             WHEN b.is_billable AND NOT a.is_billable THEN 'became_billable'
             ELSE 'revised' END AS change,
        coalesce(b.is_billable, a.is_billable) AS is_billable,
        a.description AS old,
        b.description AS new
    FROM a FULL JOIN b ON b.code = a.code
    CROSS JOIN kinds AS k
    WHERE (a.code IS NULL AND (b.is_billable OR k.a_headers))
       OR (b.code IS NULL AND (a.is_billable OR k.b_headers))
       OR (a.is_billable <> b.is_billable OR a.description <> b.description)
), na AS (
    SELECT DISTINCT n.code, n.note_type, n.note
    FROM icd10cm_notes AS n WHERE n.release = from_release AND n.node_kind = 'code'
), nb AS (
    SELECT DISTINCT n.code, n.note_type, n.note
    FROM icd10cm_notes AS n WHERE n.release = to_release AND n.node_kind = 'code'
), notes AS (
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

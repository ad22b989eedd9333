-- MS-DRG changes between loaded grouper versions. A macro and a view (not a table filled by a derive script)
-- because the diagnosis side compares DRG families, which the msdrg_drg view of views.sql defines (the
-- title without its CC/MCC split): this file runs after views.sql.
--
-- Versions are ordered by releases.effective_from among the msdrg releases that have Appendix A rows.
-- DRG rows compare Appendix A (msdrg_drg_def); diagnosis rows compare, per diagnosis of Appendix B, the set
-- of (MDC, family) it leads to, written '<MDC> <family> (<its DRGs there>)' and joined with '; '.

-- msdrg_diff(from_version, to_version): the changes between any two loaded grouper versions. Inside the
-- macro the parameters hide columns of the same name, so the pair is carried as columns of `pairs` (p.*).
CREATE OR REPLACE MACRO msdrg_diff(from_version, to_version) AS TABLE
WITH pairs AS (
    SELECT from_version AS from_version, to_version AS to_version
), drg AS (
    SELECT p.from_version, p.to_version, k.drg,
           a.drg IS NOT NULL AS in_a, b.drg IS NOT NULL AS in_b,
           a.title AS a_title, b.title AS b_title, a.mdc AS a_mdc, b.mdc AS b_mdc, a.type AS a_type, b.type AS b_type
    FROM pairs AS p
    JOIN (SELECT DISTINCT version, drg FROM msdrg_drg_def) AS k ON k.version IN (p.from_version, p.to_version)
    LEFT JOIN msdrg_drg_def AS a ON a.version = p.from_version AND a.drg = k.drg
    LEFT JOIN msdrg_drg_def AS b ON b.version = p.to_version AND b.drg = k.drg
    GROUP BY ALL
), fam AS (
    SELECT x.version, x.dx, x.mdc, coalesce(d.family, d.title) AS family, array_to_string(list_sort(list(x.drg)), ',') AS drgs
    FROM msdrg_dx_drg AS x
    LEFT JOIN msdrg_drg AS d ON d.version = x.version AND d.drg = x.drg
    WHERE x.version IN (from_version, to_version)
    GROUP BY ALL
), grp AS (
    -- each (dx, MDC, DRGs) of one version against the other's: unmatched = the diagnosis groups differently
    SELECT coalesce(a.dx, b.dx) AS dx, a.dx IS NOT NULL AS in_a, b.dx IS NOT NULL AS in_b,
           a.family IS DISTINCT FROM b.family AS retitled
    FROM (SELECT * FROM fam WHERE version = from_version) AS a
    FULL JOIN (SELECT * FROM fam WHERE version = to_version) AS b
      ON b.dx = a.dx AND b.mdc = a.mdc AND b.drgs = a.drgs
), mdcs AS (
    SELECT coalesce(a.dx, b.dx) AS dx, a.dx IS NULL OR b.dx IS NULL AS differs
    FROM (SELECT DISTINCT dx, mdc FROM fam WHERE version = from_version) AS a
    FULL JOIN (SELECT DISTINCT dx, mdc FROM fam WHERE version = to_version) AS b ON b.dx = a.dx AND b.mdc = a.mdc
), flags AS (
    SELECT g.dx, bool_or(g.in_a) AS in_a, bool_or(g.in_b) AS in_b, bool_or(NOT (g.in_a AND g.in_b)) AS regrouped,
           bool_or(g.retitled) AS retitled, (SELECT bool_or(m.differs) FROM mdcs AS m WHERE m.dx = g.dx) AS mdc_differs
    FROM grp AS g
    GROUP BY g.dx
    HAVING bool_or(NOT (g.in_a AND g.in_b)) OR bool_or(g.retitled)
), texts AS (
    SELECT f.version, f.dx,
           array_to_string(list_transform(list_sort(list({'m': f.mdc, 'd': f.drgs, 'f': f.family})),
                                          lambda e: e.m || ' ' || e.f || ' (' || e.d || ')'), '; ') AS text
    FROM fam AS f
    WHERE f.dx IN (SELECT x.dx FROM flags AS x)
    GROUP BY ALL
), dx AS (
    SELECT p.from_version, p.to_version, x.*, a.text AS a_text, b.text AS b_text
    FROM pairs AS p
    CROSS JOIN flags AS x
    LEFT JOIN texts AS a ON a.version = p.from_version AND a.dx = x.dx
    LEFT JOIN texts AS b ON b.version = p.to_version AND b.dx = x.dx
)
SELECT from_version, to_version, 'added' AS change, 'drg' AS subject_kind, drg AS subject, NULL AS old, b_title AS new
FROM drg WHERE NOT in_a
UNION ALL
SELECT from_version, to_version, 'deleted', 'drg', drg, a_title, NULL FROM drg WHERE NOT in_b
UNION ALL
SELECT from_version, to_version, 'retitled', 'drg', drg, a_title, b_title FROM drg WHERE in_a AND in_b AND a_title <> b_title
UNION ALL
SELECT from_version, to_version, 'mdc_changed', 'drg', drg, a_mdc, b_mdc
FROM drg WHERE in_a AND in_b AND a_mdc IS DISTINCT FROM b_mdc
UNION ALL
SELECT from_version, to_version, 'type_changed', 'drg', drg, a_type, b_type
FROM drg WHERE in_a AND in_b AND a_type IS DISTINCT FROM b_type
UNION ALL
SELECT from_version, to_version,
       CASE WHEN NOT in_a THEN 'added'
            WHEN NOT in_b THEN 'deleted'
            WHEN mdc_differs THEN 'mdc_changed'
            WHEN regrouped THEN 'family_changed'
            ELSE 'family_retitled' END,
       'dx', dx, a_text, b_text
FROM dx;

COMMENT ON MACRO TABLE msdrg_diff IS 'msdrg_diff(from_version, to_version): table of the MS-DRG changes between any two loaded grouper versions, with the columns and rules of msdrg_changes (which holds them for consecutive versions). SELECT change, subject_kind, count(*) FROM msdrg_diff(''v42'', ''v43'') GROUP BY ALL.';

CREATE OR REPLACE VIEW msdrg_changes AS
WITH versions AS (
    SELECT DISTINCT r.release AS version, r.effective_from
    FROM releases AS r
    WHERE r.dataset = 'msdrg' AND r.release IN (SELECT DISTINCT d.version FROM msdrg_drg_def AS d)
), pairs AS (
    SELECT * FROM (
        SELECT lag(version) OVER (ORDER BY effective_from, version) AS from_version, version AS to_version
        FROM versions
    ) WHERE from_version IS NOT NULL
)
SELECT d.*
FROM pairs AS p, LATERAL msdrg_diff(p.from_version, p.to_version) AS d;

COMMENT ON VIEW msdrg_changes IS 'What changed between each pair of consecutive loaded MS-DRG grouper versions (v42 -> v43), one row per change. subject_kind drg (Appendix A): added, deleted, retitled (any change of the printed title, case included), mdc_changed, type_changed. subject_kind dx (Appendix B, each diagnosis with the set of (MDC, DRG family) it leads to, family = the DRG title without its CC/MCC split as in msdrg_drg): added or deleted (the diagnosis is new to / gone from Appendix B), mdc_changed (its set of MDCs differs), family_changed (same MDCs, but its DRGs within an MDC differ: it groups elsewhere), family_retitled (same MDCs and DRGs, a family title differs). Appendix B lists the DRGs a diagnosis is used in as principal or as secondary diagnosis, so the sets include both uses.';
COMMENT ON COLUMN msdrg_changes.from_version IS 'The earlier grouper version (v42).';
COMMENT ON COLUMN msdrg_changes.to_version IS 'The later grouper version (v43).';
COMMENT ON COLUMN msdrg_changes.change IS 'added, deleted, retitled, mdc_changed, type_changed (drg); added, deleted, mdc_changed, family_changed, family_retitled (dx).';
COMMENT ON COLUMN msdrg_changes.subject_kind IS 'drg (an MS-DRG of Appendix A) or dx (an ICD-10-CM diagnosis of Appendix B).';
COMMENT ON COLUMN msdrg_changes.subject IS 'The MS-DRG number (3 characters) or the dotted diagnosis code.';
COMMENT ON COLUMN msdrg_changes.old IS 'In from_version: the title, MDC or type (drg rows); the diagnosis'' MDCs and families, e.g. 01 Other Cerebrovascular Disorders (070,071,072); 25 HIV with Major Related Condition (974,975,976) (dx rows). NULL when added.';
COMMENT ON COLUMN msdrg_changes.new IS 'The same in to_version; NULL when deleted.';

-- MS-DRG changes between consecutive loaded grouper versions. A view (not a table filled by a derive script)
-- because the diagnosis side compares DRG families, which the msdrg_drg view of views.sql defines (the
-- title without its CC/MCC split): this file runs after views.sql.
--
-- Versions are ordered by releases.effective_from among the msdrg releases that have Appendix A rows.
-- DRG rows compare Appendix A (msdrg_drg_def); diagnosis rows compare, per diagnosis of Appendix B, the set
-- of (MDC, family) it leads to, written '<MDC> <family> (<its DRGs there>)' and joined with '; '.

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
    SELECT x.version, x.dx, x.mdc, coalesce(d.family, d.title) AS family, string_agg(x.drg, ',' ORDER BY x.drg) AS drgs
    FROM msdrg_dx_drg AS x
    LEFT JOIN msdrg_drg AS d ON d.version = x.version AND d.drg = x.drg
    GROUP BY ALL
), dxs AS (
    SELECT version, dx,
           list_sort(list(DISTINCT mdc))                 AS mdcs,
           list_sort(list(mdc || ' ' || drgs))           AS groups,
           list_sort(list(mdc || ' ' || family))         AS families,
           string_agg(mdc || ' ' || family || ' (' || drgs || ')', '; ' ORDER BY mdc, drgs) AS text
    FROM fam
    GROUP BY ALL
), dx AS (
    SELECT p.from_version, p.to_version, k.dx, a.dx IS NOT NULL AS in_a, b.dx IS NOT NULL AS in_b,
           a.mdcs AS a_mdcs, b.mdcs AS b_mdcs, a.groups AS a_groups, b.groups AS b_groups,
           a.families AS a_families, b.families AS b_families, a.text AS a_text, b.text AS b_text
    FROM pairs AS p
    JOIN (SELECT DISTINCT version, dx FROM dxs) AS k ON k.version IN (p.from_version, p.to_version)
    LEFT JOIN dxs AS a ON a.version = p.from_version AND a.dx = k.dx
    LEFT JOIN dxs AS b ON b.version = p.to_version AND b.dx = k.dx
    GROUP BY ALL
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
            WHEN a_mdcs <> b_mdcs THEN 'mdc_changed'
            WHEN a_groups <> b_groups THEN 'family_changed'
            ELSE 'family_retitled' END,
       'dx', dx, a_text, b_text
FROM dx
WHERE NOT in_a OR NOT in_b OR a_mdcs <> b_mdcs OR a_groups <> b_groups OR a_families <> b_families;

COMMENT ON VIEW msdrg_changes IS 'What changed between each pair of consecutive loaded MS-DRG grouper versions (v42 -> v43), one row per change. subject_kind drg (Appendix A): added, deleted, retitled (any change of the printed title, case included), mdc_changed, type_changed. subject_kind dx (Appendix B, each diagnosis with the set of (MDC, DRG family) it leads to, family = the DRG title without its CC/MCC split as in msdrg_drg): added or deleted (the diagnosis is new to / gone from Appendix B), mdc_changed (its set of MDCs differs), family_changed (same MDCs, but its DRGs within an MDC differ: it groups elsewhere), family_retitled (same MDCs and DRGs, a family title differs). Appendix B lists the DRGs a diagnosis is used in as principal or as secondary diagnosis, so the sets include both uses.';
COMMENT ON COLUMN msdrg_changes.from_version IS 'The earlier grouper version (v42).';
COMMENT ON COLUMN msdrg_changes.to_version IS 'The later grouper version (v43).';
COMMENT ON COLUMN msdrg_changes.change IS 'added, deleted, retitled, mdc_changed, type_changed (drg); added, deleted, mdc_changed, family_changed, family_retitled (dx).';
COMMENT ON COLUMN msdrg_changes.subject_kind IS 'drg (an MS-DRG of Appendix A) or dx (an ICD-10-CM diagnosis of Appendix B).';
COMMENT ON COLUMN msdrg_changes.subject IS 'The MS-DRG number (3 characters) or the dotted diagnosis code.';
COMMENT ON COLUMN msdrg_changes.old IS 'In from_version: the title, MDC or type (drg rows); the diagnosis'' MDCs and families, e.g. 01 Other Cerebrovascular Disorders (070,071,072); 25 HIV with Major Related Condition (974,975,976) (dx rows). NULL when added.';
COMMENT ON COLUMN msdrg_changes.new IS 'The same in to_version; NULL when deleted.';

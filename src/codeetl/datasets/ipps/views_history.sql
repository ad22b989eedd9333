-- MS-DRG changes between loaded grouper versions. A macro and a view (not a table filled by a derive script)
-- because the diagnosis side compares DRG families, which the msdrg_drg view of views.sql defines (the
-- title without its CC/MCC split): this file runs after views.sql.
--
-- Versions are ordered by msdrg_versions (releases.effective_from of the msdrg releases that have Appendix A rows).
-- DRG rows compare Appendix A (msdrg_drg_def); diagnosis rows compare, per diagnosis of Appendix B, the set
-- of (MDC, family) it leads to, written '<MDC> <family> (<its DRGs there>)' and joined with '; '.

-- msdrg_title_key(title): a title for comparing versions: upper case, runs of white space as one space, trimmed.
-- v41.1 prints its titles in upper case and v42 in mixed case, some with doubled spaces: the same words.
CREATE OR REPLACE MACRO msdrg_title_key(title) AS upper(regexp_replace(trim(title), '\s+', ' ', 'g'));
COMMENT ON MACRO msdrg_title_key IS 'msdrg_title_key(title): an MS-DRG title reduced for comparison (upper case, white space collapsed): two titles with the same key differ only in capitalisation or spacing.';

-- msdrg_diffs(pairs): the changes between each pair of loaded grouper versions in the list pairs
-- ([{from_version, to_version}]); each version's diagnosis groups are computed once, whatever the pairs it is in.
-- Written as grouped scans only, never a join of two reads of one CTE: DuckDB 2.0 deadlocks (0 % CPU, for
-- ever) when a LIMIT stops a query early whose join reads a materialized CTE on both sides, and DuckDB
-- materializes a CTE used twice (msdrg_diff(...) LIMIT 3 hung on v41.1 -> v42, 67,633 rows).
CREATE OR REPLACE MACRO msdrg_diffs(pairs) AS TABLE
WITH pv AS (  -- each pair with each of its two versions
    SELECT DISTINCT x.from_version, x.to_version, unnest([x.from_version, x.to_version]) AS version
    FROM (SELECT unnest(pairs) AS x)
), drg AS (  -- Appendix A of both versions of each pair, one row per (pair, DRG)
    SELECT p.from_version, p.to_version, d.drg,
           bool_or(d.version = p.from_version) AS in_a, bool_or(d.version = p.to_version) AS in_b,
           any_value(d.title) FILTER (WHERE d.version = p.from_version) AS a_title,
           any_value(d.title) FILTER (WHERE d.version = p.to_version) AS b_title,
           any_value(d.mdc) FILTER (WHERE d.version = p.from_version) AS a_mdc,
           any_value(d.mdc) FILTER (WHERE d.version = p.to_version) AS b_mdc,
           any_value(d.type) FILTER (WHERE d.version = p.from_version) AS a_type,
           any_value(d.type) FILTER (WHERE d.version = p.to_version) AS b_type
    FROM msdrg_drg_def AS d JOIN pv AS p ON p.version = d.version
    GROUP BY p.from_version, p.to_version, d.drg
), fam AS (  -- each (version, diagnosis, MDC, family) with its DRGs there; title keys made once per DRG
    SELECT x.version, x.dx, x.mdc, d.family, d.family_key, array_to_string(list_sort(list(x.drg)), ',') AS drgs
    FROM msdrg_dx_drg AS x
    LEFT JOIN (SELECT m.version, m.drg, coalesce(m.family, m.title) AS family,
                      msdrg_title_key(coalesce(m.family, m.title)) AS family_key
               FROM msdrg_drg AS m WHERE list_contains(flatten(list_transform(pairs, lambda q: [q.from_version, q.to_version])), m.version)) AS d
           ON d.version = x.version AND d.drg = x.drg
    WHERE list_contains(flatten(list_transform(pairs, lambda q: [q.from_version, q.to_version])), x.version)
    GROUP BY ALL
 ), per_version AS (  -- each (version, diagnosis): its MDCs, its (MDC, DRGs), the same with family keys, as text
    SELECT f.version, f.dx,
           array_to_string(list_sort(list_distinct(list(f.mdc))), ';') AS mdcs,
           array_to_string(list_sort(list(f.mdc || ' ' || f.drgs)), ';') AS groups,
           array_to_string(list_sort(list(f.mdc || ' ' || f.drgs || ' ' || f.family_key)), ';') AS titled,
           array_to_string(list_transform(list_sort(list({'m': f.mdc, 'd': f.drgs, 'f': f.family})),
                                          lambda e: e.m || ' ' || e.f || ' (' || e.d || ')'), '; ') AS text
    FROM fam AS f
    GROUP BY f.version, f.dx
), dx AS (  -- one row per (pair, diagnosis), the two versions side by side
    SELECT p.from_version, p.to_version, v.dx,
           bool_or(v.version = p.from_version) AS in_a, bool_or(v.version = p.to_version) AS in_b,
           any_value(v.mdcs) FILTER (WHERE v.version = p.from_version) IS DISTINCT FROM any_value(v.mdcs) FILTER (WHERE v.version = p.to_version) AS mdc_differs,
           any_value(v.groups) FILTER (WHERE v.version = p.from_version) IS DISTINCT FROM any_value(v.groups) FILTER (WHERE v.version = p.to_version) AS regrouped,
           any_value(v.titled) FILTER (WHERE v.version = p.from_version) IS DISTINCT FROM any_value(v.titled) FILTER (WHERE v.version = p.to_version) AS retitled,
           any_value(v.text) FILTER (WHERE v.version = p.from_version) AS a_text,
           any_value(v.text) FILTER (WHERE v.version = p.to_version) AS b_text
    FROM per_version AS v JOIN pv AS p ON p.version = v.version
    GROUP BY p.from_version, p.to_version, v.dx
)
SELECT from_version, to_version, 'added' AS change, 'drg' AS subject_kind, drg AS subject,
       NULL AS old, b_title AS new
FROM drg WHERE NOT in_a
UNION ALL
SELECT from_version, to_version, 'deleted', 'drg', drg, a_title, NULL FROM drg WHERE NOT in_b
UNION ALL
SELECT from_version, to_version, 'retitled', 'drg', drg, a_title, b_title
FROM drg WHERE in_a AND in_b AND msdrg_title_key(a_title) <> msdrg_title_key(b_title)
UNION ALL
SELECT from_version, to_version, 'restyled', 'drg', drg, a_title, b_title
FROM drg WHERE in_a AND in_b AND a_title <> b_title AND msdrg_title_key(a_title) = msdrg_title_key(b_title)
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
FROM dx
WHERE NOT (in_a AND in_b) OR regrouped OR retitled;
COMMENT ON MACRO TABLE msdrg_diffs IS 'msdrg_diffs(pairs): msdrg_diff of each pair of grouper versions in the list pairs ([{''from_version'': ''v42'', ''to_version'': ''v43''}, ...]), every version''s diagnosis groups computed once; msdrg_changes is msdrg_diffs of the consecutive loaded versions.';

-- msdrg_diff(from_version, to_version): the changes between any two loaded grouper versions.
CREATE OR REPLACE MACRO msdrg_diff(from_version, to_version) AS TABLE
SELECT * FROM msdrg_diffs([{'from_version': from_version, 'to_version': to_version}]);

COMMENT ON MACRO TABLE msdrg_diff IS 'msdrg_diff(from_version, to_version): table of the MS-DRG changes between any two loaded grouper versions, with the columns and rules of msdrg_changes (which holds them for consecutive versions). SELECT change, subject_kind, count(*) FROM msdrg_diff(''v42'', ''v43'') GROUP BY ALL.';

CREATE OR REPLACE VIEW msdrg_changes AS
WITH pairs AS (  -- msdrg_versions, not releases: the view's export is kept while no MS-DRG release changes
    SELECT * FROM (
        SELECT lag(version) OVER (ORDER BY effective_from, version) AS from_version, version AS to_version
        FROM msdrg_versions
    ) WHERE from_version IS NOT NULL
)
SELECT * FROM msdrg_diffs((SELECT list({'from_version': p.from_version, 'to_version': p.to_version}) FROM pairs AS p));

COMMENT ON VIEW msdrg_changes IS 'What changed between each pair of consecutive loaded MS-DRG grouper versions (v42 -> v42.1 -> v43), one row per change. subject_kind drg (Appendix A): added, deleted, retitled (the words of the printed title changed), restyled (the title differs only in capitalisation or spacing, e.g. v41.1 prints MEDICAL BACK PROBLEMS WITH MCC and v42 Medical Back Problems with MCC: counted apart from retitled), mdc_changed, type_changed. subject_kind dx (Appendix B, each diagnosis with the set of (MDC, DRG family) it leads to, family = the DRG title without its CC/MCC split as in msdrg_drg): added or deleted (the diagnosis is new to / gone from Appendix B), mdc_changed (its set of MDCs differs), family_changed (same MDCs, but its DRGs within an MDC differ: it groups elsewhere), family_retitled (same MDCs and DRGs, the words of a family title differ; a family restyled only in capitalisation or spacing is not listed: its DRGs are, as restyled). Appendix B lists the DRGs a diagnosis is used in as principal or as secondary diagnosis, so the sets include both uses.';
COMMENT ON COLUMN msdrg_changes.from_version IS 'The earlier grouper version (v42).';
COMMENT ON COLUMN msdrg_changes.to_version IS 'The later grouper version (v43).';
COMMENT ON COLUMN msdrg_changes.change IS 'added, deleted, retitled, restyled, mdc_changed, type_changed (drg); added, deleted, mdc_changed, family_changed, family_retitled (dx).';
COMMENT ON COLUMN msdrg_changes.subject_kind IS 'drg (an MS-DRG of Appendix A) or dx (an ICD-10-CM diagnosis of Appendix B).';
COMMENT ON COLUMN msdrg_changes.subject IS 'The MS-DRG number (3 characters) or the dotted diagnosis code.';
COMMENT ON COLUMN msdrg_changes.old IS 'In from_version: the title, MDC or type (drg rows); the diagnosis'' MDCs and families, e.g. 01 Other Cerebrovascular Disorders (070,071,072); 25 HIV with Major Related Condition (974,975,976) (dx rows). NULL when added.';
COMMENT ON COLUMN msdrg_changes.new IS 'The same in to_version; NULL when deleted.';

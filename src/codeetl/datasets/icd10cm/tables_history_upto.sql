-- ICD-10-CM history as of a release: the macros derive_history.sql fills icd10cm_history_releases and
-- icd10cm_code_history with (asof NULL: every release), and the code page's history reads (cp_history, as of
-- the page's release). Defined with the tables, so a warehouse has them before anything is derived.

-- icd10cm_history_releases_upto(asof_release): the rows of icd10cm_history_releases as a warehouse holding only
-- the loaded releases up to asof_release (by effective date; NULL: every one) has them. A code page's history
-- is the history as of the page's release (cp_history): a release added later changes no older page.
CREATE OR REPLACE MACRO icd10cm_history_releases_upto(asof_release) AS TABLE
WITH loaded AS (
    SELECT DISTINCT r.release, r.effective_from, r.effective_to
    FROM releases AS r
    WHERE r.dataset = 'icd10cm' AND r.release IN (SELECT DISTINCT c.release FROM icd10cm_codes AS c)
      AND (asof_release IS NULL OR r.effective_from <= (SELECT min(a.effective_from) FROM releases AS a
                                                        WHERE a.dataset = 'icd10cm' AND a.release = asof_release))
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
COMMENT ON MACRO TABLE icd10cm_history_releases_upto IS 'icd10cm_history_releases_upto(asof_release): the rows of icd10cm_history_releases as they are with only the loaded releases up to asof_release (by effective date; NULL: all of them, the table itself): the releases a code page''s history reads.';


-- icd10cm_code_history_upto(asof_release, codes) gives these rows as a warehouse holding only the loaded releases
-- up to asof_release has them (NULL: every release; the table), for the codes in the list codes (NULL: all); the
-- conversion tables read are those of these releases.
CREATE OR REPLACE MACRO icd10cm_code_history_upto(asof_release, codes) AS TABLE
WITH rel AS (
    SELECT r.*,
           lag(r.period_to) OVER (ORDER BY r.seq)    AS prev_to,
           lead(r.period_from) OVER (ORDER BY r.seq) AS next_from,
           lead(r.follows_gap) OVER (ORDER BY r.seq) AS gap_after
    FROM icd10cm_history_releases_upto(asof_release) AS r
), own AS (
    SELECT c.code, c.code_nodot, r.seq, c.is_billable, c.description
    FROM icd10cm_codes AS c JOIN rel AS r ON r.release = c.release
    WHERE codes IS NULL OR c.code IN (SELECT unnest(codes))
), header_codes AS (
    SELECT DISTINCT o.code, o.code_nodot FROM own AS o WHERE NOT o.is_billable
), below AS (  -- releases loaded from a code file only: every prefix (3 characters or more) of their valid codes
    SELECT DISTINCT r.seq, c.code_nodot[1:p.k] AS prefix
    FROM icd10cm_codes AS c
    JOIN rel AS r ON r.release = c.release AND NOT r.has_headers
    CROSS JOIN LATERAL (SELECT unnest(range(3, len(c.code_nodot))) AS k) AS p
    WHERE c.is_billable AND (codes IS NULL OR c.code_nodot[1:3] IN (SELECT replace(unnest(codes), '.', '')[1:3]))
), listed AS (
    SELECT o.*, false AS inferred FROM own AS o
    UNION ALL
    SELECT h.code, h.code_nodot, b.seq, false, NULL::VARCHAR, true
    FROM below AS b JOIN header_codes AS h ON h.code_nodot = b.prefix
    WHERE NOT EXISTS (SELECT 1 FROM own AS o WHERE o.code = h.code AND o.seq = b.seq)
), runs AS (  -- a run: consecutive releases listing the code with the same billable flag
    SELECT f.*, sum(f.new_run) OVER (PARTITION BY f.code ORDER BY f.seq ROWS UNBOUNDED PRECEDING) AS run
    FROM (SELECT l.*,
                 CASE WHEN lag(l.seq) OVER w = l.seq - 1 AND lag(l.is_billable) OVER w = l.is_billable THEN 0 ELSE 1 END AS new_run
          FROM listed AS l WINDOW w AS (PARTITION BY l.code ORDER BY l.seq)) AS f
), titled AS (  -- an inferred header's title: the known titles around it in its run, when they agree
    SELECT t.*,
           coalesce(t.description,
                    CASE WHEN t.prev_known IS NULL THEN t.next_known
                         WHEN t.next_known IS NULL OR t.next_known = t.prev_known THEN t.prev_known END) AS title
    FROM (SELECT u.*,
                 last_value(u.description IGNORE NULLS) OVER (PARTITION BY u.code, u.run ORDER BY u.seq
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_known,
                 first_value(u.description IGNORE NULLS) OVER (PARTITION BY u.code, u.run ORDER BY u.seq
                     ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_known
          FROM runs AS u) AS t
), spans AS (
    SELECT s.*, sum(s.starts) OVER (PARTITION BY s.code ORDER BY s.seq ROWS UNBOUNDED PRECEDING) AS span
    FROM (SELECT v.*,
                 CASE WHEN v.new_run = 1 OR v.title IS DISTINCT FROM lag(v.title) OVER (PARTITION BY v.code ORDER BY v.seq)
                      THEN 1 ELSE 0 END AS starts
          FROM titled AS v) AS s
), grouped AS (
    SELECT code, span, any_value(code_nodot) AS code_nodot, any_value(is_billable) AS is_billable,
           any_value(title) AS description, min(seq) AS first_seq, max(seq) AS last_seq
    FROM spans
    GROUP BY code, span
), edges AS (
    SELECT g.*, f.release AS first_release, l.release AS last_release,
           f.period_from AS seen_from, l.period_to AS seen_to, f.prev_to AS before_to, l.next_from AS after_from,
           CASE WHEN g.first_seq = 1 THEN 'first loaded' WHEN f.follows_gap THEN 'after gap' ELSE 'change' END AS from_source,
           CASE WHEN l.next_from IS NULL THEN CASE WHEN l.period_to IS NOT NULL THEN 'last loaded' END
                WHEN l.gap_after THEN 'before gap' ELSE 'change' END AS to_source,
           coalesce((SELECT list({'from': r.prev_to + 1, 'to': r.period_from - 1} ORDER BY r.seq) FROM rel AS r
                     WHERE r.follows_gap AND r.seq > g.first_seq AND r.seq <= g.last_seq), []) AS inner_gaps
    FROM grouped AS g
    JOIN rel AS f ON f.seq = g.first_seq
    JOIN rel AS l ON l.seq = g.last_seq
), created AS (  -- the CDC conversion table: the day a code took effect
    SELECT n.code, min(n.effective) AS effective FROM icd10cm_new_codes AS n
    WHERE n.release IN (SELECT r.release FROM rel AS r) GROUP BY n.code
), replaced AS (  -- ... and the day a code was replaced, and whether only by codes below it (it became a header)
    SELECT x.code, x.effective,
           bool_and(starts_with(replace(x.replaced_by, '.', ''), replace(x.code, '.', '')) AND x.replaced_by <> x.code) AS by_children
    FROM icd10cm_replacements AS x WHERE NOT x.is_range AND x.release IN (SELECT r.release FROM rel AS r)
    GROUP BY x.code, x.effective
), dated AS (
    SELECT e.*,
           CASE WHEN e.from_source IN ('first loaded', 'after gap') AND e.is_billable THEN
                    (SELECT max(c.effective) FROM created AS c WHERE c.code = e.code AND c.effective <= e.seen_from
                       AND (e.before_to IS NULL OR c.effective > e.before_to))
                WHEN e.from_source IN ('first loaded', 'after gap') THEN
                    (SELECT min(x.effective) FROM replaced AS x WHERE x.code = e.code AND x.by_children
                       AND x.effective <= e.seen_from AND (e.before_to IS NULL OR x.effective > e.before_to))
           END AS table_from,
           CASE WHEN e.to_source = 'before gap' AND e.is_billable THEN
                    (SELECT min(x.effective) FROM replaced AS x WHERE x.code = e.code
                       AND x.effective > e.seen_to AND x.effective <= e.after_from)
           END AS table_to
    FROM edges AS e
)
SELECT
    d.code,
    upper(d.code_nodot) AS code_nodot,
    coalesce(d.table_from, d.seen_from) AS valid_from,
    coalesce(d.table_to - 1, d.seen_to) AS valid_to,
    d.is_billable,
    d.description,
    d.first_release,
    d.last_release,
    CASE WHEN d.table_from IS NOT NULL THEN 'conversion table' ELSE d.from_source END AS valid_from_source,
    CASE WHEN d.table_to IS NOT NULL THEN 'conversion table' ELSE d.to_source END AS valid_to_source,
    list_concat(CASE WHEN d.table_from < d.seen_from THEN [{'from': d.table_from, 'to': d.seen_from - 1}] ELSE [] END,
                d.inner_gaps,
                CASE WHEN d.table_to - 1 > d.seen_to THEN [{'from': d.seen_to + 1, 'to': d.table_to - 1}] ELSE [] END) AS unknown_days
FROM dated AS d;
COMMENT ON MACRO TABLE icd10cm_code_history_upto IS 'icd10cm_code_history_upto(asof_release, codes): the rows of icd10cm_code_history as they are with only the loaded ICD-10-CM releases up to asof_release (by effective date) and their conversion tables (NULL: all of them, the table itself), for the codes in the list codes (NULL: every code). A code page''s history is the history as of its release (cp_history).';


-- The code page, computed once, here: `codeetl code X --json` reads code_page(...) for one code, and the
-- parquet export writes code_page(...) for every code of every loaded ICD-10-CM release
-- (parquet/code_page/release=<id>/). Each part is a table macro over (icd, codes) or the releases of a day:
--   icd    the ICD-10-CM release id;
--   codes  a list of dotted codes to compute, or NULL for every code node of the release.
-- Releases of the other datasets come from page_releases (10_resolver.sql), for the day of the page.
-- Money and weights stay DECIMAL (exact); the CLI writes them as JSON strings.

-- Ordered lists: `list_transform(list_sort(list({'k': k, 'v': v})), lambda kv: kv.v)` instead of
-- `list(v ORDER BY k)`. DuckDB sorts an ordered aggregate's values group by group, 2-3 times slower over the
-- export's hundreds of thousands of groups; an unordered list sorted afterwards gives the same order (keys are
-- unique within a list; where they tie, the values break the tie, so the order is still deterministic).
-- (A scalar macro cannot hold it: DuckDB binds a macro's lambdas when it is created, and list_sort of an
-- untyped parameter has no fields.)

-- Words the pages print: flags and severities in plain language (one place).
CREATE OR REPLACE MACRO gem_meaning(no_map, combination, approximate) AS
CASE WHEN NOT (no_map OR combination OR approximate) THEN ['identical: an exact equivalent']
     ELSE list_filter([
         CASE WHEN no_map THEN 'no map: there is no equivalent code' END,
         CASE WHEN combination THEN 'combination: the source code needs more than one target code together (one from each choice list of the scenario)' END,
         CASE WHEN approximate THEN 'approximate: the codes are not exact equivalents (a close match, differing in detail)' END],
         lambda x: x IS NOT NULL) END;
COMMENT ON MACRO gem_meaning IS 'gem_meaning(no_map, combination, approximate): the GEM flags of an entry in words (a list; identical when none is set).';

CREATE OR REPLACE MACRO severity_words(severity) AS
CASE severity
    WHEN 'with MCC' THEN 'applies when a secondary diagnosis is an MCC'
    WHEN 'with CC' THEN 'applies when a secondary diagnosis is a CC (and none is an MCC)'
    WHEN 'with CC/MCC' THEN 'applies when a secondary diagnosis is a CC or an MCC'
    WHEN 'without MCC' THEN 'applies with a CC or with neither (no secondary diagnosis is an MCC)'
    WHEN 'without CC/MCC' THEN 'applies with neither a CC nor an MCC'
    ELSE coalesce(severity, 'not split by CC/MCC') END;
COMMENT ON MACRO severity_words IS 'severity_words(severity): when an MS-DRG of a CC/MCC-split family applies, in words.';

CREATE OR REPLACE MACRO cc_level_words(level, alive_only) AS
CASE level
    WHEN 'MCC' THEN 'a major complication or comorbidity (MCC) as a secondary diagnosis, unless the principal diagnosis is on its exclusion list'
    WHEN 'CC' THEN 'a complication or comorbidity (CC) as a secondary diagnosis, unless the principal diagnosis is on its exclusion list'
    ELSE 'neither a CC nor an MCC as a secondary diagnosis' END
|| CASE WHEN alive_only THEN ' — counts only if the patient is discharged alive' ELSE '' END;
COMMENT ON MACRO cc_level_words IS 'cc_level_words(level, alive_only): what a CC/MCC level means for a secondary diagnosis, in words.';

-- The code nodes asked for.
CREATE OR REPLACE MACRO cp_nodes(icd, codes) AS TABLE
SELECT c.* FROM icd10cm_codes c
WHERE c.release = icd AND (codes IS NULL OR c.code IN (SELECT unnest(codes)));  -- a hash semi-join: chunks of thousands of codes
COMMENT ON MACRO TABLE cp_nodes IS 'cp_nodes(icd, codes): the icd10cm_codes rows of release icd (all, or those in the list codes). A part of code_page.';

-- Every (code, ancestor, depth) pair: depth 1 = parent. ICD-10-CM nests by prefix (M96 > M96.1; S02.0 >
-- S02.0XXA, the code a 7th character extends), so a code's ancestors are the nodes of its release whose code
-- is a shorter prefix of it: an equi-join on each prefix, fast for one code and for every code alike (a test
-- checks this equals the parent chain of the Tabular).
CREATE OR REPLACE MACRO cp_up(icd, codes) AS TABLE
SELECT n.code, a.code AS ancestor,
       row_number() OVER (PARTITION BY n.code ORDER BY len(a.code_nodot) DESC) AS depth
FROM cp_nodes(icd, codes) n
CROSS JOIN LATERAL (SELECT unnest(range(3, len(n.code_nodot))) AS k) p
JOIN icd10cm_codes a ON a.release = icd AND a.code_nodot = n.code_nodot[1:p.k];
COMMENT ON MACRO TABLE cp_up IS 'cp_up(icd, codes): every (code, ancestor, depth) of those codes; depth 1 = parent. A part of code_page.';

-- Sections that enclose a section without holding codes of their own (V00-X58 > V00-V99 > V40-V49):
-- their notes apply to every code of the sections they enclose. rank 1 = outermost.
CREATE OR REPLACE MACRO cp_enclosing(icd) AS TABLE
SELECT s.section, o.section AS enclosing,
       row_number() OVER (PARTITION BY s.section ORDER BY o.first_code, o.last_code DESC) AS rank
FROM icd10cm_sections s
JOIN icd10cm_sections o ON o.release = s.release AND o.chapter = s.chapter AND o.section <> s.section
 AND o.first_code <= s.first_code AND o.last_code >= s.last_code
WHERE s.release = icd;
COMMENT ON MACRO TABLE cp_enclosing IS 'cp_enclosing(icd): for each section, the range sections that enclose it (V00-X58 > V00-V99 > V40-V49), rank 1 = outermost. A part of code_page.';

-- Every note that applies to each code, in the order a reader meets them: chapter, enclosing sections
-- (outermost first), section, ancestors (category first), the code itself. Each node's notes are listed
-- once and read three ways: as the code's own (inherited false); as inherited by the codes below (inclusion
-- terms left out: they belong to the code they are printed under); and as inherited by a code made from
-- the node by a 7th character (inclusion terms kept: T36.0X1A is "Poisoning by penicillins NOS" as much
-- as T36.0X1 is).
CREATE OR REPLACE MACRO cp_note_applies(icd, codes) AS TABLE
SELECT n.code, 'chapter' AS kind, CAST(n.chapter AS VARCHAR) AS node, 'inherited' AS how, 0 AS rank
FROM cp_nodes(icd, codes) n WHERE n.chapter IS NOT NULL
UNION ALL
SELECT n.code, 'section', e.enclosing, 'inherited', e.rank
FROM cp_nodes(icd, codes) n JOIN cp_enclosing(icd) e ON e.section = n.section
UNION ALL
SELECT n.code, 'section', n.section, 'inherited', 100 FROM cp_nodes(icd, codes) n WHERE n.section IS NOT NULL
UNION ALL
SELECT u.code, 'code', u.ancestor, CASE WHEN u.depth = 1 AND n.seventh_char IS NOT NULL THEN 'extended' ELSE 'inherited' END,
       1000 - u.depth
FROM cp_up(icd, codes) u JOIN cp_nodes(icd, codes) n ON n.code = u.code
UNION ALL
SELECT n.code, 'code', n.code, 'own', 1000 FROM cp_nodes(icd, codes) n;
COMMENT ON MACRO TABLE cp_note_applies IS 'cp_note_applies(icd, codes): each (code, node whose notes apply to it: kind, node, how it applies: own, inherited or extended by a 7th character, rank in reading order). A part of code_page.';

-- Each node's notes (of the nodes that apply to those codes), read three ways (see above).
CREATE OR REPLACE MACRO cp_node_notes(icd, codes) AS TABLE
WITH titled AS (
    SELECT n.node_kind, n.code AS node, n.note_type, n.note, n.referenced_codes, n.note_no,
           CASE n.node_kind WHEN 'chapter' THEN 'Chapter ' || n.code || ': ' || ch.title
                            WHEN 'section' THEN s.title ELSE c.description END AS title
    FROM icd10cm_notes n
    SEMI JOIN (SELECT DISTINCT kind, node FROM cp_note_applies(icd, codes)) w ON w.kind = n.node_kind AND w.node = n.code
    LEFT JOIN icd10cm_chapters ch ON n.node_kind = 'chapter' AND ch.release = n.release AND CAST(ch.chapter AS VARCHAR) = n.code
    LEFT JOIN icd10cm_sections s ON n.node_kind = 'section' AND s.release = n.release AND s.section = n.code
    LEFT JOIN icd10cm_codes c ON n.node_kind = 'code' AND c.release = n.release AND c.code = n.code
    WHERE n.release = icd
), node_notes AS (
    SELECT node_kind, node,
           list_transform(list_sort(list({'k': note_no, 'v': {'type': note_type, 'text': note, 'referenced_codes': referenced_codes,
                          'from': {'kind': node_kind, 'code': node, 'title': title}, 'inherited': false}})), lambda kv: kv.v) AS own,
           list_transform(list_sort(list({'k': note_no, 'v': {'type': note_type, 'text': note, 'referenced_codes': referenced_codes,
                          'from': {'kind': node_kind, 'code': node, 'title': title}, 'inherited': true}})), lambda kv: kv.v) AS extended,
           coalesce(list_transform(list_sort(list({'k': note_no, 'v': {'type': note_type, 'text': note, 'referenced_codes': referenced_codes,
                                   'from': {'kind': node_kind, 'code': node, 'title': title}, 'inherited': true}})
                             FILTER (WHERE note_type <> 'inclusionTerm')), lambda kv: kv.v), []) AS inherited
    FROM titled GROUP BY node_kind, node
)
SELECT * FROM node_notes;
COMMENT ON MACRO TABLE cp_node_notes IS 'cp_node_notes(icd, codes): the notes of each node (node_kind, node) that applies to those codes, as its own, as extended by a 7th character and as inherited (without inclusion terms). A part of code_page.';

-- Each code's chain: the nodes with notes that apply to it, in reading order (codes below one node share it).
CREATE OR REPLACE MACRO cp_note_chains(icd, codes) AS TABLE
SELECT a.code,
       list_transform(list_sort(list({'k': a.rank, 'v': {'kind': a.kind, 'node': a.node, 'how': a.how}})), lambda kv: kv.v) AS chain
FROM cp_note_applies(icd, codes) a
SEMI JOIN (SELECT DISTINCT node_kind, code FROM icd10cm_notes WHERE release = icd) nn ON nn.node_kind = a.kind AND nn.code = a.node
GROUP BY a.code;
COMMENT ON MACRO TABLE cp_note_chains IS 'cp_note_chains(icd, codes): the chain of each code that has notes: the nodes whose notes apply to it (kind, node, how), in reading order. A part of code_page.';

-- The notes of each distinct chain of those codes, computed once per chain.
CREATE OR REPLACE MACRO cp_chain_notes(icd, codes) AS TABLE
WITH links AS (
    SELECT chain, unnest(chain) AS link, generate_subscripts(chain, 1) AS pos
    FROM (SELECT DISTINCT chain FROM cp_note_chains(icd, codes))
)
SELECT l.chain,
       flatten(list_transform(list_sort(list({'k': l.pos, 'v': CASE l.link.how WHEN 'own' THEN nn.own WHEN 'extended' THEN nn.extended ELSE nn.inherited END})),
                              lambda kv: kv.v)) AS notes
FROM links l JOIN cp_node_notes(icd, codes) nn ON nn.node_kind = l.link.kind AND nn.node = l.link.node
GROUP BY l.chain;
COMMENT ON MACRO TABLE cp_chain_notes IS 'cp_chain_notes(icd, codes): the notes of each distinct note chain of those codes (cp_note_chains), in reading order. A part of code_page.';

-- Every note that applies to each code (the page's notes): its chain's.
CREATE OR REPLACE MACRO cp_notes(icd, codes) AS TABLE
SELECT c.code, n.notes FROM cp_note_chains(icd, codes) c JOIN cp_chain_notes(icd, codes) n ON n.chain = c.chain;
COMMENT ON MACRO TABLE cp_notes IS 'cp_notes(icd, codes): every note that applies to each code, in reading order: chapter, enclosing sections, section, ancestors, the code (inherited ones without their inclusion terms, except for the code a 7th-character code extends). A part of code_page.';

-- The node's own columns and its place in the hierarchy: chapter, section, category, ancestors, 7th characters,
-- siblings, children, the category's other billable codes. Built to stream over a whole release in DuckDB's
-- memory limit: the wide rows are only ever the probe side of a join (no hash table of them), each hash table
-- is keyed by a node or a parent, no row holds a whole category's list, and the wide rows are never sorted (the
-- nodes are, before the joins). Measured on FY2025, 2025-04 and 2027 (97,584 to 98,403 nodes): the export's frame
-- in 1.8-2.1 s, none of 18 runs failing from 400MB to 600MB (376MB at most without a limit); before, it failed in
-- some runs at every limit up to 600MB (a 185MB hash table of the wide rows, each code with a copy of its
-- category's list, a sort of the wide rows: 900MB without a limit).
CREATE OR REPLACE MACRO cp_hierarchy(icd, codes) AS TABLE
WITH kids AS (
    SELECT k.parent, list_transform(list_sort(list({'k': k.seq, 'v': {'code': k.code, 'description': k.description, 'is_billable': k.is_billable}})), lambda kv: kv.v) AS kids
    FROM icd10cm_codes k
    WHERE k.release = icd AND k.parent IN (SELECT n.code FROM cp_nodes(icd, codes) n UNION SELECT n.parent FROM cp_nodes(icd, codes) n)
    GROUP BY k.parent
), seventh AS (
    SELECT s.code AS defined_at, list_transform(list_sort(list({'k': s.char, 'v': {'char': s.char, 'meaning': s.meaning, 'defined_at': s.code}})), lambda kv: kv.v) AS chars
    FROM icd10cm_seventh_chars s WHERE s.release = icd GROUP BY s.code
), in_cat AS (  -- every node of the categories asked for, with its place among the category's billable codes
    SELECT k.code, k.category, k.is_billable,
           CAST(sum(k.is_billable::INTEGER) OVER (PARTITION BY k.category ORDER BY k.seq ROWS UNBOUNDED PRECEDING) AS BIGINT) AS pos,
           count(*) FILTER (WHERE k.is_billable) OVER (PARTITION BY k.category) AS n
    FROM icd10cm_codes k
    WHERE k.release = icd AND k.category IN (SELECT n.category FROM cp_nodes(icd, codes) n)
), near AS (  -- the category's billable codes at positions lo to lo + 50 (50 without the code itself; all of them
              -- when the category has 50 or fewer): a window over the category in position order, framed by value,
              -- so no row ever holds a whole category's list (S82 has 3,000 billable codes)
    SELECT c.code, c.is_billable, c.n,
           list(c.code ORDER BY c.pos) FILTER (WHERE c.is_billable) OVER (
               PARTITION BY c.category ORDER BY c.pos
               RANGE BETWEEN greatest(c.pos - c.lo, 0) PRECEDING AND c.lo + 50 - (NOT c.is_billable)::INTEGER - c.pos FOLLOWING) AS near
    FROM (SELECT *, greatest(1, least(pos - 25 + (NOT is_billable)::INTEGER, n - 50 + (NOT is_billable)::INTEGER)) AS lo
          FROM in_cat) c
), cat_codes AS (  -- the category's other billable codes: all, or the 50 nearest in Tabular order. Codes only, no titles
    SELECT w.code, w.n - w.is_billable::INTEGER AS others, list_filter(coalesce(w.near, []), lambda x: x <> w.code) AS items
    FROM near w WHERE codes IS NULL OR w.code IN (SELECT unnest(codes))
)
SELECT n.code, n.code_nodot, n.description, n.description_tabular, n.is_billable,
       CASE WHEN ch.chapter IS NOT NULL THEN {'number': ch.chapter, 'title': ch.title, 'first_code': ch.first_code, 'last_code': ch.last_code} END AS chapter,
       CASE WHEN s.section IS NOT NULL THEN {'id': s.section, 'title': s.title, 'first_code': s.first_code, 'last_code': s.last_code} END AS section,
       {'code': n.category, 'description': cat.description} AS category,
       list_filter([CASE WHEN a3.code IS NOT NULL THEN {'code': a3.code, 'description': a3.description} END,
                    CASE WHEN a4.code IS NOT NULL THEN {'code': a4.code, 'description': a4.description} END,
                    CASE WHEN a5.code IS NOT NULL THEN {'code': a5.code, 'description': a5.description} END,
                    CASE WHEN a6.code IS NOT NULL THEN {'code': a6.code, 'description': a6.description} END],
                   lambda x: x IS NOT NULL) AS ancestors,
       coalesce(sv.chars, []) AS seventh_characters,
       coalesce(list_filter(sib.kids, lambda x: x.code <> n.code), []) AS siblings,
       coalesce(ch_kids.kids, []) AS children,
       {'category': n.category, 'count': coalesce(cc.others, 0), 'codes': coalesce(cc.items, []),
        'complete': coalesce(len(cc.items), 0) = coalesce(cc.others, 0)} AS category_codes
FROM (SELECT * FROM cp_nodes(icd, codes) ORDER BY code) n  -- the nodes in code order, the probe side of every join:
                                                       -- the rows come out in code order, unsorted (export frame)
LEFT JOIN icd10cm_chapters ch ON ch.release = icd AND ch.chapter = n.chapter
LEFT JOIN icd10cm_sections s ON s.release = icd AND s.section = n.section
LEFT JOIN icd10cm_codes cat ON cat.release = icd AND cat.code = n.category
-- the ancestors: the nodes whose code is a shorter prefix (3 to 6 characters; a code has 7 at most), outermost
-- first, one equi-join per length as in cp_up, the list made row by row (no aggregate)
LEFT JOIN icd10cm_codes a3 ON a3.release = icd AND len(a3.code_nodot) = 3 AND a3.code_nodot = CASE WHEN len(n.code_nodot) > 3 THEN n.code_nodot[1:3] END
LEFT JOIN icd10cm_codes a4 ON a4.release = icd AND len(a4.code_nodot) = 4 AND a4.code_nodot = CASE WHEN len(n.code_nodot) > 4 THEN n.code_nodot[1:4] END
LEFT JOIN icd10cm_codes a5 ON a5.release = icd AND len(a5.code_nodot) = 5 AND a5.code_nodot = CASE WHEN len(n.code_nodot) > 5 THEN n.code_nodot[1:5] END
LEFT JOIN icd10cm_codes a6 ON a6.release = icd AND len(a6.code_nodot) = 6 AND a6.code_nodot = CASE WHEN len(n.code_nodot) > 6 THEN n.code_nodot[1:6] END
LEFT JOIN kids sib ON sib.parent = n.parent
LEFT JOIN kids ch_kids ON ch_kids.parent = n.code
LEFT JOIN seventh sv ON sv.defined_at = n.seventh_char_from
LEFT JOIN cat_codes cc ON cc.code = n.code;
COMMENT ON MACRO TABLE cp_hierarchy IS 'cp_hierarchy(icd, codes): code, code_nodot, description, description_tabular, is_billable, chapter, section, category, ancestors, 7th characters, siblings, children and the category''s other billable codes (category_codes: all of them, or the 50 nearest in Tabular order when there are more) of each code. A part of code_page.';

-- A combination reading per (key, scenario): choice lists in order, codes in file order; "a and (b or c)".
CREATE OR REPLACE MACRO gem_combinations(entries) AS
list_transform(
    list_sort(list_distinct(list_transform(entries, lambda e: e.scenario))),
    lambda sc: {'scenario': sc,
           'choice_lists': list_transform(list_sort(list_distinct(list_transform(list_filter(entries, lambda e: e.scenario = sc), lambda e: e.choice_list))),
                                          lambda cl: list_transform(list_filter(entries, lambda e: e.scenario = sc AND e.choice_list = cl), lambda e: e.code)),
           'reads': array_to_string(list_transform(
                        list_sort(list_distinct(list_transform(list_filter(entries, lambda e: e.scenario = sc), lambda e: e.choice_list))),
                        lambda cl: CASE WHEN len(list_filter(entries, lambda e: e.scenario = sc AND e.choice_list = cl)) = 1
                                   THEN list_filter(entries, lambda e: e.scenario = sc AND e.choice_list = cl)[1].code
                                   ELSE '(' || array_to_string(list_transform(list_filter(entries, lambda e: e.scenario = sc AND e.choice_list = cl), lambda e: e.code), ' or ') || ')' END),
                        ' and ')});
COMMENT ON MACRO gem_combinations IS 'gem_combinations(entries): a combination GEM entry read per scenario (entries: a list of {code, scenario, choice_list} in file order): within a scenario one code from each choice list together ("and"), codes of one choice list are alternatives ("or"). Returns [{scenario, choice_lists, reads}].';

-- The icd9 section: both GEMs of the release gem, this code on the ICD-10-CM side.
CREATE OR REPLACE MACRO cp_icd9(icd, day, codes) AS TABLE
WITH rel AS (SELECT p.gems.release AS gem FROM page_releases(icd, day) p),
icd9 AS (  -- ICD-9-CM titles (v32, the final release) of the codes on the ICD-9 side
    SELECT d.code, d.description FROM icd9cm_codes d
    WHERE d.kind = 'diagnosis' AND d.release = (SELECT p.icd9cm.release FROM page_releases(icd, day) p)
),
back AS (
    SELECT g.source AS code, list_transform(list_sort(list({'k': g.line_no, 'v': {'source': g.source, 'target': g.target, 'approximate': g.approximate, 'no_map': g.no_map,
                                   'combination': g.combination, 'scenario': g.scenario, 'choice_list': g.choice_list,
                                   'meaning': gem_meaning(g.no_map, g.combination, g.approximate),
                                   'icd9_description': d.description}})), lambda kv: kv.v) AS entries
    FROM gem_icd10_to_icd9 g LEFT JOIN icd9 d ON d.code = g.target WHERE g.release = (SELECT gem FROM rel) AND g.source IN (SELECT n.code FROM cp_nodes(icd, codes) n)
    GROUP BY g.source
), fwd AS (
    SELECT g.target AS code, list_transform(list_sort(list({'k': g.line_no, 'v': {'source': g.source, 'target': g.target, 'approximate': g.approximate, 'no_map': g.no_map,
                                   'combination': g.combination, 'scenario': g.scenario, 'choice_list': g.choice_list,
                                   'meaning': gem_meaning(g.no_map, g.combination, g.approximate),
                                   'icd9_description': d.description}})), lambda kv: kv.v) AS entries
    FROM gem_icd9_to_icd10 g LEFT JOIN icd9 d ON d.code = g.source WHERE g.release = (SELECT gem FROM rel) AND g.target IN (SELECT n.code FROM cp_nodes(icd, codes) n)
    GROUP BY g.target
), fwd_scen AS (  -- ICD-9 codes that map to this code only together with others: their whole scenarios
    SELECT DISTINCT g.target AS code, g.source, g.scenario
    FROM gem_icd9_to_icd10 g WHERE g.release = (SELECT gem FROM rel) AND g.combination AND g.target IN (SELECT n.code FROM cp_nodes(icd, codes) n)
), fwd_combo AS (
    SELECT f.code, f.source, min(a.line_no) AS first,
           gem_combinations(list_transform(list_sort(list({'k': a.line_no, 'v': {'code': a.target, 'scenario': a.scenario, 'choice_list': a.choice_list}})), lambda kv: kv.v)) AS scenarios
    FROM fwd_scen f JOIN gem_icd9_to_icd10 a ON a.release = (SELECT gem FROM rel) AND a.source = f.source AND a.scenario = f.scenario
    GROUP BY f.code, f.source
), fwd_combos AS (
    SELECT code, list_transform(list_sort(list({'k': first, 'v': {'source': source, 'scenarios': scenarios}})), lambda kv: kv.v) AS combos FROM fwd_combo GROUP BY code
)
SELECT n.code,
       CASE WHEN (SELECT gem FROM rel) IS NOT NULL THEN {
           'release': (SELECT gem FROM rel),
           'equivalents': list_sort(list_distinct(list_concat(
               list_transform(list_filter(coalesce(b.entries, []), lambda e: NOT e.no_map), lambda e: e.target),
               list_transform(list_filter(coalesce(f.entries, []), lambda e: NOT e.no_map), lambda e: e.source)))),
           'equivalents_described': list_sort(list_distinct(list_concat(
               list_transform(list_filter(coalesce(b.entries, []), lambda e: NOT e.no_map), lambda e: {'code': e.target, 'description': e.icd9_description}),
               list_transform(list_filter(coalesce(f.entries, []), lambda e: NOT e.no_map), lambda e: {'code': e.source, 'description': e.icd9_description})))),
           'icd10_to_icd9': {'entries': coalesce(b.entries, []),
                             'combinations': gem_combinations(list_transform(list_filter(coalesce(b.entries, []), lambda e: e.combination),
                                                              lambda e: {'code': e.target, 'scenario': e.scenario, 'choice_list': e.choice_list})),
                             'note': 'backward GEM (2018_I10gem): this ICD-10-CM code as source'},
           'icd9_to_icd10': {'entries': coalesce(f.entries, []), 'combinations': coalesce(fc.combos, []),
                             'note': 'forward GEM (2018_I9gem): ICD-9-CM codes that map to this code'}} END AS icd9
FROM cp_nodes(icd, codes) n
LEFT JOIN back b ON b.code = n.code
LEFT JOIN fwd f ON f.code = n.code
LEFT JOIN fwd_combos fc ON fc.code = n.code;
COMMENT ON MACRO TABLE cp_icd9 IS 'cp_icd9(icd, day, codes): the icd9 section (both GEMs of the GEM release of day, combinations read out). A part of code_page.';

-- The ms_drg section: MDCs and MS-DRGs of the diagnosis (Appendix B) with weights, and its CC/MCC level.
CREATE OR REPLACE MACRO cp_msdrg(icd, day, codes) AS TABLE
WITH rel AS (SELECT p.msdrg.release AS v, p.msdrg.in_effect AS in_effect FROM page_releases(icd, day) p),
keyed AS (  -- each code's MDCs (Appendix B, dx_drg_family) with their MS-DRG numbers: most codes share theirs
            -- with many others, so each distinct list is read out once below
    SELECT f.dx AS code, list_sort(list({'k': coalesce(f.mdc, ''), 'mdc': f.mdc, 'mdc_name': f.mdc_name, 'drgs': f.drgs})) AS mdcs
    FROM (SELECT f.dx, f.mdc, f.mdc_name, list_sort(list(f.drg)) AS drgs
          FROM dx_drg_family f SEMI JOIN cp_nodes(icd, codes) n ON n.code = f.dx
          WHERE f.version = (SELECT v FROM rel)
          GROUP BY f.dx, f.mdc, f.mdc_name) f
    GROUP BY f.dx
), entries AS (
    SELECT l.mdcs, unnest(l.mdcs) AS m, generate_subscripts(l.mdcs, 1) AS pos FROM (SELECT DISTINCT mdcs FROM keyed) l
), mdc_drgs AS (  -- each distinct list of MS-DRGs with titles and weights
    SELECT p.drgs,
           list_transform(list_sort(list({'k': g.drg, 'v': {
                 'drg': g.drg, 'title': d.title, 'type': CASE d.type WHEN 'M' THEN 'medical' WHEN 'P' THEN 'surgical' ELSE d.type END,
                 'family': d.family, 'severity': d.severity, 'applies': severity_words(d.severity),
                 'weight': d.weight, 'weight_before_cap': d.weight_before_cap, 'gmlos': d.gmlos, 'amlos': d.amlos,
                 'post_acute': d.post_acute, 'special_pay': d.special_pay}})), lambda kv: kv.v) AS items
    FROM (SELECT DISTINCT e.m.drgs AS drgs FROM entries e) p
    CROSS JOIN LATERAL (SELECT unnest(p.drgs) AS drg) g
    LEFT JOIN msdrg_drg d ON d.version = (SELECT v FROM rel) AND d.drg = g.drg
    GROUP BY p.drgs
), principal AS (
    SELECT e.mdcs,
           list_transform(list_sort(list({'k': e.pos, 'v': {'mdc': e.m.mdc, 'mdc_name': e.m.mdc_name, 'drgs': md.items}})),
                          lambda kv: kv.v) AS as_principal
    FROM entries e JOIN mdc_drgs md ON md.drgs = e.m.drgs
    GROUP BY e.mdcs
), grouped AS (
    SELECT k.code, p.as_principal FROM keyed k JOIN principal p ON p.mdcs = k.mdcs
)
SELECT n.code,
       CASE WHEN (SELECT v FROM rel) IS NOT NULL THEN {
           'version': (SELECT v FROM rel),
           'in_effect': (SELECT in_effect FROM rel),
           'fiscal_year': CAST(msdrg_fiscal_year((SELECT v FROM rel)) AS SMALLINT),
           'as_principal': coalesce(g.as_principal, []),
           'as_principal_note': 'Appendix B lists every MS-DRG whose logic uses the code, as principal or as secondary diagnosis: as principal diagnosis the code groups to the DRGs of its own MDC.',
           'as_secondary': {'level': cc.level, 'exclusion_list': cc.exclusion_list, 'alive_only': coalesce(cc.alive_only, false),
                            'meaning': cc_level_words(cc.level, coalesce(cc.alive_only, false))}} END AS ms_drg
FROM cp_nodes(icd, codes) n
LEFT JOIN grouped g ON g.code = n.code
LEFT JOIN msdrg_cc cc ON cc.version = msdrg_ipps_version((SELECT v FROM rel)) AND cc.dx = n.code;  -- a point release: its fiscal year's lists
COMMENT ON MACRO TABLE cp_msdrg IS 'cp_msdrg(icd, day, codes): the ms_drg section (MDCs, MS-DRGs with weights, CC/MCC level) in the MS-DRG version of day. A part of code_page.';

-- The procedures section: procedures linked to the diagnosis, with their PFS descriptor, status and national
-- fee of the PFS release of the day (without one, every no_fee_reason says why).
CREATE OR REPLACE MACRO cp_procedures(icd, day, codes) AS TABLE
WITH rel AS (SELECT p.day, p.pfs.release AS pfs, p.pfs.label AS label, p.pfs.in_effect AS in_effect FROM page_releases(icd, day) p),
links AS (
    SELECT l.* FROM dx_procedure_link l WHERE l.dx IN (SELECT n.code FROM cp_nodes(icd, codes) n)
), fees AS (
    SELECT r.hcpcs, r.description, r.status, st.meaning AS status_meaning, st.payable, r.global_days,
           p.nonfacility_amount, p.nonfacility_note, p.facility_amount, p.facility_note
    FROM pfs_rvu r
    LEFT JOIN pfs_status st ON st.status = r.status
    LEFT JOIN pfs_payment p ON p.release = r.release AND p.hcpcs = r.hcpcs AND p.modifier = r.modifier AND p.locality = 'national'
    WHERE r.release = (SELECT pfs FROM rel) AND r.modifier = '' AND r.hcpcs IN (SELECT hcpcs FROM links)
), items AS (
    SELECT l.dx AS code, l.hcpcs, min([l.origin, l.line_no]) AS first,
           list({'source': l.source, 'source_id': l.source_id, 'source_release': l.source_release, 'note': l.note}
                ORDER BY l.origin, l.line_no) AS links
    FROM links l GROUP BY l.dx, l.hcpcs
), why AS (
    SELECT CASE WHEN rel.pfs IS NOT NULL THEN 'not in the Medicare PFS release ' || rel.pfs
                WHEN EXISTS (SELECT 1 FROM release_calendar c WHERE c.dataset = 'pfs')
                THEN 'no Medicare PFS release loaded was in effect on ' || strftime(rel.day, '%Y-%m-%d')
                ELSE 'no Medicare PFS release is loaded' END AS reason
    FROM rel
)
SELECT i.code,
       {'pfs_release': (SELECT pfs FROM rel), 'pfs_label': (SELECT label FROM rel), 'pfs_in_effect': (SELECT in_effect FROM rel),
        'copyright': (SELECT t.cpt_notice FROM pfs_notice t WHERE t.release = (SELECT pfs FROM rel)),
        'items': list({
            'hcpcs': i.hcpcs, 'links': i.links, 'description': f.description,
            'status': CASE WHEN f.hcpcs IS NOT NULL THEN {'code': f.status, 'meaning': f.status_meaning, 'payable': f.payable} END,
            'global_days': f.global_days,
            'national': CASE WHEN f.hcpcs IS NOT NULL THEN {'nonfacility_amount': f.nonfacility_amount, 'nonfacility_note': f.nonfacility_note,
                                                            'facility_amount': f.facility_amount, 'facility_note': f.facility_note} END,
            'fee': coalesce(f.nonfacility_amount, f.facility_amount),
            'fee_setting': CASE WHEN f.nonfacility_amount IS NOT NULL THEN 'non-facility' WHEN f.facility_amount IS NOT NULL THEN 'facility' END,
            'no_fee_reason': CASE WHEN f.hcpcs IS NULL THEN (SELECT reason FROM why)
                                  WHEN coalesce(f.nonfacility_amount, f.facility_amount) IS NULL
                                  THEN coalesce(f.nonfacility_note, f.facility_note, 'no amount') END}
            ORDER BY i.first)} AS procedures
FROM items i LEFT JOIN fees f ON f.hcpcs = i.hcpcs
GROUP BY i.code;
COMMENT ON MACRO TABLE cp_procedures IS 'cp_procedures(icd, day, codes): the procedures section (linked procedures with PFS descriptor, status and national fee of the PFS release of day). A part of code_page.';

-- The history section: the code's spans over the loaded releases (icd10cm_code_history), oldest first, each
-- with what dates its edges and the days inside it no loaded release covers; the CDC conversion table's dates.
-- As of the page's release, like every other section: the releases up to icd (by effective date) and their
-- conversion tables (icd10cm_code_history_upto), so a release added later changes no page of an older one.
CREATE OR REPLACE MACRO cp_history(icd, codes) AS TABLE
WITH page_rels AS (
    SELECT h.release FROM icd10cm_history_releases_upto(icd) h
), history AS (
    SELECT * FROM icd10cm_code_history_upto(icd, codes)
), spans AS (
    SELECT h.code,
           list_transform(list_sort(list({'k': h.valid_from, 'v': {
                 'valid_from': h.valid_from, 'valid_to': h.valid_to, 'is_billable': h.is_billable,
                 'description': h.description, 'first_release': h.first_release, 'last_release': h.last_release,
                 'valid_from_source': h.valid_from_source, 'valid_to_source': h.valid_to_source,
                 'unknown_days': h.unknown_days}})),
                 lambda kv: kv.v) AS spans,
           min(h.valid_from) AS first_valid_from, count(DISTINCT h.description) AS descriptions,
           count(DISTINCT h.is_billable) - 1 AS billable_changes,
           bool_or(h.is_billable) AS ever_valid
    FROM history h
    WHERE h.code IN (SELECT n.code FROM cp_nodes(icd, codes) n)
    GROUP BY h.code
), replaced AS (  -- the CDC conversion table: this code was replaced by these codes on a date
    SELECT x.code, list(DISTINCT {'code': x.replaced_by, 'effective': x.effective} ORDER BY {'code': x.replaced_by, 'effective': x.effective}) AS by
    FROM icd10cm_replacements x WHERE x.code IN (SELECT n.code FROM cp_nodes(icd, codes) n) AND NOT x.is_range
      AND x.release IN (SELECT release FROM page_rels)
    GROUP BY x.code
), replaces AS (  -- ... and this code replaced those
    SELECT x.replaced_by AS code, list(DISTINCT {'code': x.code, 'effective': x.effective} ORDER BY {'code': x.code, 'effective': x.effective}) AS old
    FROM icd10cm_replacements x WHERE x.replaced_by IN (SELECT n.code FROM cp_nodes(icd, codes) n) AND NOT x.is_range
      AND x.release IN (SELECT release FROM page_rels)
    GROUP BY x.replaced_by
), new_codes AS (  -- ... and when it took effect, if it is new since FY2017
    SELECT x.code, min(x.effective) AS effective FROM icd10cm_new_codes x
    WHERE x.code IN (SELECT n.code FROM cp_nodes(icd, codes) n) AND x.release IN (SELECT release FROM page_rels) GROUP BY x.code
), coverage AS (  -- the conversion table lists the codes created up to the first day of its release
    SELECT max(r.effective_from) AS until, any_value(r.release ORDER BY r.effective_from DESC) AS release
    FROM release_calendar r WHERE r.dataset = 'icd10cm' AND r.release IN (SELECT DISTINCT x.release FROM icd10cm_new_codes x)
      AND r.release IN (SELECT release FROM page_rels)
), known_before AS (  -- codes valid in a loaded release the table covers, or replaced by a code it lists
    SELECT DISTINCT h.code FROM history h
    WHERE h.code IN (SELECT n.code FROM cp_nodes(icd, codes) n) AND h.is_billable
      AND h.valid_from <= (SELECT until FROM coverage)
    UNION
    SELECT DISTINCT x.code FROM icd10cm_replacements x WHERE x.code IN (SELECT n.code FROM cp_nodes(icd, codes) n) AND NOT x.is_range
      AND x.release IN (SELECT release FROM page_rels)
)
SELECT n.code,
       CASE WHEN s.code IS NOT NULL OR r.code IS NOT NULL OR o.code IS NOT NULL THEN
       {'spans': coalesce(s.spans, []), 'first_valid_from': s.first_valid_from, 'descriptions': coalesce(s.descriptions, 0),
        'billable_changes': coalesce(s.billable_changes, 0),
        'in_code_set_since': CASE WHEN nc.code IS NOT NULL
                                  THEN {'date': nc.effective, 'source': 'CDC conversion table: a new code on ' || nc.effective}
                                  WHEN kb.code IS NOT NULL AND (SELECT until FROM coverage) IS NOT NULL
                                  THEN {'date': DATE '2015-10-01',
                                        'source': 'not in the CDC conversion table ' || (SELECT release FROM coverage)
                                                  || ', which lists every code created from FY2017 (2016-10-01) to '
                                                  || (SELECT until FROM coverage) || ': in ICD-10-CM since its first day'} END,
        'replaced_by': coalesce(r.by, []), 'replaces': coalesce(o.old, [])} END AS history
FROM cp_nodes(icd, codes) n
LEFT JOIN spans s ON s.code = n.code
LEFT JOIN replaced r ON r.code = n.code
LEFT JOIN replaces o ON o.code = n.code
LEFT JOIN new_codes nc ON nc.code = n.code
LEFT JOIN known_before kb ON kb.code = n.code;
COMMENT ON MACRO TABLE cp_history IS 'cp_history(icd, codes): the history section of each code as of release icd (the loaded releases up to icd by effective date and their conversion tables: icd10cm_code_history_upto; later releases are in icd10cm_code_history and `codeetl history CODE`): its spans (icd10cm_code_history: validity, description, what dates each edge, the days no loaded release covers), the first day it is known, how many descriptions it had and how often it changed between billable and header, since when it is in ICD-10-CM (in_code_set_since: the CDC conversion table''s date for a code new since FY2017, 2015-10-01 for a code the table covers and does not list), and the codes that replaced it and that it replaced, with the dates (icd10cm_replacements). A part of code_page.';

-- What a page of this release lacks because it was not loaded from the Tabular List XML; NULL when it was.
CREATE OR REPLACE MACRO cp_hierarchy_note(icd) AS
CASE WHEN EXISTS (SELECT 1 FROM releases r WHERE r.dataset = 'icd10cm' AND r.release = icd AND r.derivation IS NOT NULL)
     THEN (SELECT 'this release was derived, not loaded from its own files: ' || any_value(r.derivation)
           FROM releases r WHERE r.dataset = 'icd10cm' AND r.release = icd AND r.derivation IS NOT NULL)
     WHEN EXISTS (SELECT 1 FROM icd10cm_chapters h WHERE h.release = icd) THEN NULL
     WHEN EXISTS (SELECT 1 FROM icd10cm_codes h WHERE h.release = icd AND h.parent IS NOT NULL)
     THEN 'this release was loaded from the order file without the Tabular List: no chapters, sections or notes'
     ELSE 'this release was loaded from the code file only: no hierarchy or notes' END;
COMMENT ON MACRO cp_hierarchy_note IS 'cp_hierarchy_note(icd): what a page of release icd lacks when it was not loaded from the Tabular List XML; NULL when it was. A part of code_page.';

-- The sections of a page that come from the releases of other datasets its day picks (GEMs, MS-DRG, PFS).
CREATE OR REPLACE MACRO cp_day_sections(icd, day, codes) AS TABLE
SELECT n.code, g.icd9, d.ms_drg, p.procedures
FROM cp_nodes(icd, codes) n
LEFT JOIN cp_icd9(icd, day, codes) g ON g.code = n.code
LEFT JOIN cp_msdrg(icd, day, codes) d ON d.code = n.code
LEFT JOIN cp_procedures(icd, day, codes) p ON p.code = n.code;
COMMENT ON MACRO TABLE cp_day_sections IS 'cp_day_sections(icd, day, codes): the icd9, ms_drg and procedures sections of each code (cp_icd9, cp_msdrg, cp_procedures: the GEM, MS-DRG and PFS releases of day). A part of code_page.';

-- The page's frame: every column of code_page in order, with the code's note chain in place of its notes
-- (cp_note_chains; NULL: no notes) and NULL in place of the sections code_page joins to it.
CREATE OR REPLACE MACRO cp_frame(icd, day, codes) AS TABLE
WITH r AS (SELECT * FROM page_releases(icd, day)),
hn AS (SELECT cp_hierarchy_note(icd) AS note)
SELECT
    h.code, h.code_nodot, h.description, h.description_tabular, h.is_billable,
    CASE WHEN h.is_billable THEN 'valid code' ELSE 'header' END AS kind,
    (SELECT icd10cm FROM r) AS release,
    (SELECT r.day FROM r) AS day,
    day_covered('icd10cm', (SELECT r.day FROM r)) AS day_covered,
    (SELECT note IS NULL FROM hn) AS hierarchy,
    (SELECT note FROM hn) AS hierarchy_note,
    h.chapter, h.section, h.category, h.ancestors,
    c.chain AS notes,
    h.seventh_characters, h.siblings, h.children, h.category_codes,
    NULL AS icd9, NULL AS ms_drg, NULL AS procedures, NULL AS history
FROM cp_hierarchy(icd, codes) h  -- wide rows: streamed past the hash tables, never one
LEFT JOIN cp_note_chains(icd, codes) c ON c.code = h.code;
COMMENT ON MACRO TABLE cp_frame IS 'cp_frame(icd, day, codes): the columns of code_page in its order, the note chain (cp_note_chains) in place of notes and NULL in place of icd9, ms_drg, procedures and history, which code_page joins to it. A part of code_page.';

-- The code page: one row per code node of ICD-10-CM release icd (all, or those in codes), for the day
-- (NULL: the release's first day). Columns are the page's JSON keys, in order. The build's export puts the
-- same parts together from files (codeetl/build/code_pages.py, ``assemble`` in sql/pages/code_page_export.sql).
CREATE OR REPLACE MACRO code_page(icd, day, codes) AS TABLE
SELECT f.* REPLACE (coalesce(cn.notes, []) AS notes, ds.icd9 AS icd9, ds.ms_drg AS ms_drg,
                    ds.procedures AS procedures, hs.history AS history)
FROM cp_frame(icd, day, codes) f
LEFT JOIN cp_chain_notes(icd, codes) cn ON cn.chain = f.notes
LEFT JOIN cp_day_sections(icd, day, codes) ds ON ds.code = f.code
LEFT JOIN cp_history(icd, codes) hs ON hs.code = f.code
ORDER BY f.code;
COMMENT ON MACRO TABLE code_page IS 'code_page(icd_release, day, codes): the code page of every code node of ICD-10-CM release icd_release (or of those in the list codes), with the MS-DRG, GEM and PFS releases of day (NULL: the release''s first day; see page_releases): code, description, is_billable, kind, release, day (the date the page is for), day_covered (a loaded ICD-10-CM release is in effect on it: day_covered), hierarchy, chapter, section, category, ancestors, notes (own and inherited, with where each is printed), seventh_characters, siblings, children, category_codes (the category''s other billable codes), icd9, ms_drg, procedures, history. `codeetl code X --json` and the parquet export code_page/release=<id>/ both read it.';

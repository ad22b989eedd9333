-- `codeetl annotate`, written once for every engine (the portable subset and the adapters of
-- sql/claims/validate.sql, whose rules `key` and `day` it uses). Input views: claim_source ("__row", "__date",
-- "__day" and every column of the claims file under its own name) and the exported contract files. Python fills the
-- {placeholders}: {columns} every input column, quoted; {keys} one key per code column ("__k0", "__k1", ...);
-- {annotations} and {joins} the fragments below, once per code column ({c} its quoted name, {i} its
-- number, {p} the principal's key or NULL); {broadcast} the aliases of the contract tables.
--
-- Each row of the file stays one row, in file order, with row_number first; icd10cm_release is the release
-- whose codes apply on the row's day (claim_icd10cm_coverage: NULL on a day no loaded release covers). Per
-- code cell: the description and billable flag of the span covering the row's day (claim_icd10cm_interval),
-- the category and chapter of the release of the day (claim_icd10cm_category; none for a release loaded from a code file only); for
-- the principal diagnosis its MDC(s), MS-DRG families and DRGs with weights in the version of the day
-- (claim_msdrg_dx); for every other code column its CC/MCC level as a secondary diagnosis (claim_msdrg_cc)
-- and whether the principal diagnosis is on its PDX exclusion list (claim_msdrg_cc_exclusion).

-- name: annotate
WITH d AS (
    SELECT * FROM claim_source
), k AS (
    SELECT d.*{keys} FROM d
)
SELECT /*+ BROADCAST({broadcast}) */
    k."__row" AS row_number,
    {columns},
    p.release AS icd10cm_release,
    v.version AS msdrg_version{annotations}
FROM k
LEFT JOIN claim_icd10cm_coverage AS p ON k."__day" BETWEEN p.valid_from AND p.valid_to
LEFT JOIN claim_msdrg_version AS v ON k."__day" BETWEEN v.valid_from AND v.valid_to
{joins}

-- name: code_annotations
    i{i}.description AS {c_description},
    i{i}.is_billable AS {c_billable},
    g{i}.category AS {c_category},
    g{i}.category_description AS {c_category_description},
    g{i}.chapter AS {c_chapter},
    g{i}.chapter_title AS {c_chapter_title}

-- name: code_joins
LEFT JOIN claim_icd10cm_interval AS i{i}
       ON i{i}.code_nodot = k."__k{i}" AND k."__day" BETWEEN i{i}.valid_from AND i{i}.valid_to
LEFT JOIN claim_icd10cm_category AS g{i}
       ON g{i}.release = p.release AND g{i}.category = substr(k."__k{i}", 1, 3) AND i{i}.code_nodot IS NOT NULL

-- name: principal_annotations
    f{i}.mdc AS {c_mdc},
    f{i}.drg_family AS {c_drg_family},
    f{i}.drgs AS {c_drgs}

-- name: principal_joins
LEFT JOIN claim_msdrg_dx AS f{i} ON f{i}.version = v.version AND f{i}.dx_nodot = k."__k{i}"

-- name: secondary_annotations
    x{i}.level AS {c_cc_level},
    CASE WHEN x{i}.level IS NULL OR {p} IS NULL OR trim({p}) = '' THEN NULL
         ELSE e{i}.pdx_nodot IS NOT NULL END AS {c_cc_excluded}

-- name: secondary_joins
LEFT JOIN claim_msdrg_cc AS x{i} ON x{i}.version = v.version AND x{i}.dx_nodot = k."__k{i}"
LEFT JOIN claim_msdrg_cc_exclusion AS e{i}
       ON e{i}.version = v.version AND e{i}.exclusion_list = x{i}.exclusion_list AND e{i}.pdx_nodot = {p}

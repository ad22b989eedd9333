-- What a dataset says on a day, through the one release resolver (release_on, 10_resolver.sql): for SQL users
-- who ask by date rather than by release. The code page (20_code_page.sql) resolves its releases the same way.

CREATE OR REPLACE MACRO dx_drg_family_on(day) AS TABLE
SELECT r.in_effect, f.*
FROM release_on('msdrg', day) AS r
JOIN dx_drg_family AS f ON f.version = r.release;
COMMENT ON MACRO TABLE dx_drg_family_on IS 'dx_drg_family_on(day): the rows of dx_drg_family of the MS-DRG version in effect on day (release_on: v43.1 on 2026-05-01, v38.1 on 2021-06-01), with in_effect false when no loaded version is in effect that day and the latest one before it is used; no row before the first loaded version. SELECT * FROM dx_drg_family_on(DATE ''2026-05-01'') WHERE dx = ''M96.1''.';

-- MS-DRG derivations, run once every parse is loaded: the loaded grouper versions in order (msdrg_versions).
INSERT INTO msdrg_versions
SELECT DISTINCT r.release, r.effective_from
FROM releases AS r
WHERE r.dataset = 'msdrg' AND r.release IN (SELECT DISTINCT d.version FROM msdrg_drg_def AS d)
ORDER BY r.effective_from, r.release;

-- The loaded MS-DRG grouper versions in order: a table filled once every release is loaded (derive.sql), so that
-- what reads it is a function of the MS-DRG releases alone (the export of msdrg_changes is reused while no MS-DRG
-- release changes; a view reading releases changes with every dataset's release).
CREATE TABLE msdrg_versions (
    version         VARCHAR NOT NULL,
    effective_from  DATE    NOT NULL
);
COMMENT ON TABLE msdrg_versions IS 'The loaded MS-DRG grouper versions that have Appendix A rows (msdrg_drg_def), each with the first day it is in effect (releases.effective_from): the order msdrg_changes compares them in. Filled from releases once every release is loaded.';
COMMENT ON COLUMN msdrg_versions.version IS 'Grouper version (v43 = FY2026).';
COMMENT ON COLUMN msdrg_versions.effective_from IS 'The first day the version is in effect (releases.effective_from).';

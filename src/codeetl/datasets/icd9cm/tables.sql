-- ICD-9-CM (dataset `icd9cm`): the CMS master descriptions, version 32 (the final release, FY2015).

CREATE TABLE icd9cm_codes (
    release            VARCHAR NOT NULL,
    code               VARCHAR NOT NULL,
    code_nodot         VARCHAR NOT NULL,
    kind               VARCHAR NOT NULL,
    description        VARCHAR NOT NULL,
    short_description  VARCHAR NOT NULL
);
COMMENT ON TABLE icd9cm_codes IS 'ICD-9-CM diagnosis and procedure codes with their full and abbreviated titles, from CMS''s "ICD-9-CM Diagnosis and Procedure Codes: Abbreviated and Full Code Titles" (v32: 14,567 diagnosis and 3,882 procedure codes). Valid codes only: the files list no category headers (250 is not a row).';
COMMENT ON COLUMN icd9cm_codes.release IS 'Release id: v32 (version 32, effective October 1, 2014, the last ICD-9-CM update).';
COMMENT ON COLUMN icd9cm_codes.code IS 'Dotted code as printed in ICD-9-CM: diagnoses after the 3rd character (722.83, V45.4), E codes after the 4th (E880.9), procedures after the 2nd (81.08).';
COMMENT ON COLUMN icd9cm_codes.code_nodot IS 'Code as in the CMS files and the GEMs, without the dot (72283, 8108).';
COMMENT ON COLUMN icd9cm_codes.kind IS 'diagnosis (the *_DX files) or procedure (the *_SG files, ICD-9-CM volume 3).';
COMMENT ON COLUMN icd9cm_codes.description IS 'Full title (CMS32_DESC_LONG_*): Postlaminectomy syndrome, lumbar region.';
COMMENT ON COLUMN icd9cm_codes.short_description IS 'Abbreviated title (CMS32_DESC_SHORT_*): Postlaminect synd-lumbar.';

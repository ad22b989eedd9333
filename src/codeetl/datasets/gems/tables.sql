-- General Equivalence Mappings (GEMs), diagnosis codes, as published by CMS (final release 2018).
-- Loaded by codeetl.parsers.gems; one row per line of the GEM file, in file order.

CREATE TABLE gem_icd9_to_icd10 (
    release       VARCHAR  NOT NULL,
    line_no       INTEGER  NOT NULL,
    source        VARCHAR  NOT NULL,
    target        VARCHAR  NOT NULL,
    source_nodot  VARCHAR  NOT NULL,
    target_nodot  VARCHAR  NOT NULL,
    approximate   BOOLEAN  NOT NULL,
    no_map        BOOLEAN  NOT NULL,
    combination   BOOLEAN  NOT NULL,
    scenario      SMALLINT NOT NULL,
    choice_list   SMALLINT NOT NULL,
    PRIMARY KEY (release, line_no)
);

COMMENT ON TABLE gem_icd9_to_icd10 IS 'CMS General Equivalence Mappings, forward (ICD-9-CM diagnosis -> ICD-10-CM), file 2018_I9gem.txt: one row per mapping entry. Read a combination entry (combination = true) per source and scenario: pick one target from each choice_list of the scenario ("and" across choice lists, "or" within one). Sources with no ICD-10-CM equivalent have one no-map row whose target is NoDx.';
COMMENT ON COLUMN gem_icd9_to_icd10.release IS 'GEM release (publication year, e.g. 2018; 2018 is the final release).';
COMMENT ON COLUMN gem_icd9_to_icd10.line_no IS 'Line number (1-based) of the entry in the GEM file: the published order.';
COMMENT ON COLUMN gem_icd9_to_icd10.source IS 'ICD-9-CM diagnosis code, dotted display form (722.83, V45.4, E880.9: E codes have four characters before the dot).';
COMMENT ON COLUMN gem_icd9_to_icd10.target IS 'ICD-10-CM code, dotted display form (M96.1); NoDx on no-map rows.';
COMMENT ON COLUMN gem_icd9_to_icd10.source_nodot IS 'source as printed in the GEM file (no decimal point, upper case).';
COMMENT ON COLUMN gem_icd9_to_icd10.target_nodot IS 'target as printed in the GEM file (no decimal point, upper case); NoDx on no-map rows.';
COMMENT ON COLUMN gem_icd9_to_icd10.approximate IS 'Flag 1: the target is an approximate, not an exact, equivalent of the source.';
COMMENT ON COLUMN gem_icd9_to_icd10.no_map IS 'Flag 2: the source has no equivalent in the target code set (target is NoDx).';
COMMENT ON COLUMN gem_icd9_to_icd10.combination IS 'Flag 3: the source needs more than one target code (a combination entry); read with scenario and choice_list.';
COMMENT ON COLUMN gem_icd9_to_icd10.scenario IS 'Flag 4: for combination entries, the number of the alternative complete translation this row belongs to (1-9); 0 when not a combination.';
COMMENT ON COLUMN gem_icd9_to_icd10.choice_list IS 'Flag 5: for combination entries, the slot of the scenario this target can fill (1-9): one target is needed from each choice list of the scenario, and rows sharing a choice list are alternatives; 0 when not a combination.';

CREATE TABLE gem_icd10_to_icd9 (
    release       VARCHAR  NOT NULL,
    line_no       INTEGER  NOT NULL,
    source        VARCHAR  NOT NULL,
    target        VARCHAR  NOT NULL,
    source_nodot  VARCHAR  NOT NULL,
    target_nodot  VARCHAR  NOT NULL,
    approximate   BOOLEAN  NOT NULL,
    no_map        BOOLEAN  NOT NULL,
    combination   BOOLEAN  NOT NULL,
    scenario      SMALLINT NOT NULL,
    choice_list   SMALLINT NOT NULL,
    PRIMARY KEY (release, line_no)
);

COMMENT ON TABLE gem_icd10_to_icd9 IS 'CMS General Equivalence Mappings, backward (ICD-10-CM -> ICD-9-CM diagnosis), file 2018_I10gem.txt: one row per mapping entry. Read a combination entry (combination = true) per source and scenario: pick one target from each choice_list of the scenario ("and" across choice lists, "or" within one). Sources with no ICD-9-CM equivalent have one no-map row whose target is NoDx.';
COMMENT ON COLUMN gem_icd10_to_icd9.release IS 'GEM release (publication year, e.g. 2018; 2018 is the final release).';
COMMENT ON COLUMN gem_icd10_to_icd9.line_no IS 'Line number (1-based) of the entry in the GEM file: the published order.';
COMMENT ON COLUMN gem_icd10_to_icd9.source IS 'ICD-10-CM code, dotted display form (M96.1).';
COMMENT ON COLUMN gem_icd10_to_icd9.target IS 'ICD-9-CM diagnosis code, dotted display form (722.83, V45.4, E880.9: E codes have four characters before the dot); NoDx on no-map rows.';
COMMENT ON COLUMN gem_icd10_to_icd9.source_nodot IS 'source as printed in the GEM file (no decimal point, upper case).';
COMMENT ON COLUMN gem_icd10_to_icd9.target_nodot IS 'target as printed in the GEM file (no decimal point, upper-cased: one 2018 line prints v5889); NoDx on no-map rows.';
COMMENT ON COLUMN gem_icd10_to_icd9.approximate IS 'Flag 1: the target is an approximate, not an exact, equivalent of the source.';
COMMENT ON COLUMN gem_icd10_to_icd9.no_map IS 'Flag 2: the source has no equivalent in the target code set (target is NoDx).';
COMMENT ON COLUMN gem_icd10_to_icd9.combination IS 'Flag 3: the source needs more than one target code (a combination entry); read with scenario and choice_list.';
COMMENT ON COLUMN gem_icd10_to_icd9.scenario IS 'Flag 4: for combination entries, the number of the alternative complete translation this row belongs to (1-9); 0 when not a combination.';
COMMENT ON COLUMN gem_icd10_to_icd9.choice_list IS 'Flag 5: for combination entries, the slot of the scenario this target can fill (1-9): one target is needed from each choice list of the scenario, and rows sharing a choice list are alternatives; 0 when not a combination.';

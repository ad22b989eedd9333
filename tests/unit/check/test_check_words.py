"""Comparing descriptions word by word."""

from __future__ import annotations

from codeetl.check.words import abbreviates, descriptor_overlap, same_words, within


def test_within_counts_words():
    official = "Type 2 diabetes mellitus with hypoglycemia without coma"
    assert within("type 2 diabetes with hypoglycemia without coma", official)
    assert not within("Type 2 diabetes mellitus with hypoglycemia with coma", official)
    assert within("Radiculopathy, lumbar region", "Radiculopathy, lumbar region")
    assert within("lumbar radiculopathy", "Radiculopathy, lumbar region")
    assert not within("Postradiation kyphosis", "Postlaminectomy kyphosis")
    assert not within("", "anything")


def test_same_words_ignores_case_plurals_and_small_words():
    assert same_words("Medical back problems with MCC", "Medical Back Problems with MCC")
    assert not same_words("Medical back problems with MCC", "Medical Back Problems without MCC")
    assert same_words("Medical back problems w/o MCC", "Medical Back Problems without MCC")


def test_abbreviations_of_pfs_short_descriptors():
    assert abbreviates("lmbr", "lumbar") and abbreviates("dcmprn", "decompression") and abbreviates("est", "established")
    assert not abbreviates("lmbr", "thoracic")
    page = "Single-interspace lumbar laminotomy with nerve root decompression"
    assert descriptor_overlap("Lamot dcmprn nrv rt 1 lmbr", page) == 1.0
    assert descriptor_overlap("Office o/p est low 20 min", page) < 0.3

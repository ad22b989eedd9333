"""``codeetl web``: the code pages on the web — HTML pages, search, a JSON API equal to the CLI's ``--json``
and FHIR R4 terminology operations for ICD-10-CM — over the published warehouse, read-only.

It renders the page dicts of :mod:`codeetl.pages` (the ones the CLI prints); nothing here computes a fact.
:mod:`.app` is the application (routes), :mod:`.html` the templates' helpers, :mod:`.svg` the pictures,
:mod:`.fhir` the terminology operations, :mod:`.warehouse` the read-only connections, :mod:`.server` uvicorn.
"""

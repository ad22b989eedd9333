"""Rendering pages for people at a terminal (rich), one module per page. The data comes from :mod:`codeetl.pages`."""

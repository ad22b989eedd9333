"""Sources: the catalog of official publications, the downloader, and helpers for reading their bytes."""

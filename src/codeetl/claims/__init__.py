"""Claims: dated codes in claims files checked against the warehouse."""

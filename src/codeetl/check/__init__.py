"""``codeetl check``: verify a published code page against the official files in the warehouse.

read (page -> lines) -> claims/finders (lines -> claims, pure) -> verify/rules (claims -> verdicts, through
the one warehouse adapter :mod:`codeetl.check.facts`) -> report (terminal, JSON, folder summary).
"""

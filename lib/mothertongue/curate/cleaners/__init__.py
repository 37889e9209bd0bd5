"""Text cleaners: Unicode repair, whitespace, URL removal, and the config-driven script cleaner."""

from mothertongue.curate.cleaners.script import ScriptCleaner, build_keep_pattern
from mothertongue.curate.cleaners.standard import unicode_repair, url_removal, whitespace_normalisation

__all__ = ["ScriptCleaner", "build_keep_pattern", "unicode_repair", "url_removal", "whitespace_normalisation"]

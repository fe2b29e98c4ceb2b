"""Language detection from file names, extensions and content (rules/languages.yaml)."""

from stackpipe.languages.detect import LanguageDetector

__all__ = ["LanguageDetector"]

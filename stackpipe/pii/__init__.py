"""PII detection and redaction in source code (REFERENCE.md §4): emails, IP addresses,
keys and tokens, passwords, and names when an NER model is installed. See `rules/pii.yaml`."""

from stackpipe.pii.redactor import STAGE, Finding, PiiRedactor, private_ip

__all__ = ["STAGE", "Finding", "PiiRedactor", "private_ip"]

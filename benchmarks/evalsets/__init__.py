"""Independent evaluation sets for PII redaction and benchmark decontamination.

See SPEC.md (the source of truth). Generators are pure and deterministic given a seed and
the host file list; they never import the implementation they are used to score.
"""

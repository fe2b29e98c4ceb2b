"""Licence detection and policy (REFERENCE.md §3): pure functions, no Beam.

For one repository: `detect_licenses(files, metadata_license)` reads its licence files
and SPDX tags into a `LicenseMap`; `apply_license_policy(record, map, rules)` gives each
file record its licence and type and keeps or drops it; `strip_license_header` is the
optional editor that removes licence boilerplate from kept files.
"""

from stackpipe.licenses.detect import LicenseFile, LicenseMap, detect_licenses, is_license_file, spdx_header
from stackpipe.licenses.expressions import UNKNOWN, classify, license_ids, normalize_expression
from stackpipe.licenses.headers import strip_license_header
from stackpipe.licenses.matcher import Identification, LicenseMatch, identify_license
from stackpipe.licenses.policy import STAGE, apply_license_policy, is_opted_out

__all__ = [
    "STAGE", "UNKNOWN", "Identification", "LicenseFile", "LicenseMap", "LicenseMatch", "apply_license_policy",
    "classify", "detect_licenses", "identify_license", "is_license_file", "is_opted_out", "license_ids",
    "normalize_expression", "spdx_header", "strip_license_header",
]

"""stackpipe: curate code corpora for LLM pretraining with Apache Beam."""

from importlib import metadata

try:
    __version__ = metadata.version("stackpipe")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

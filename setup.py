"""Shim for Beam's `--setup_file`: the package is defined by pyproject.toml.

Beam builds the sdist it ships to workers from the file named by `--setup_file`. Before
Beam 2.66 that file must be a setup.py, and with a pyproject.toml Beam needs the `build`
package; this shim works for every Beam that pyproject.toml allows.
"""

from setuptools import setup

setup()

"""Flex Template entry point (FLEX_TEMPLATE_PYTHON_PY_FILE in the Dockerfile).

The launcher runs this file with the template's parameters (`--pipeline=curate
--input=... --output=...`) and its own Beam options; `--pipeline` picks the stackpipe
command and everything else is passed to it.
"""

import sys

from stackpipe.beam.engines import flex_template_argv
from stackpipe.cli import main

if __name__ == "__main__":
    try:
        argv = flex_template_argv(sys.argv[1:])
    except ValueError as error:
        print(f"stackpipe flex template: error: {error}", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(argv))

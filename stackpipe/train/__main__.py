"""`python -m stackpipe.train ARGS` (what torchrun starts on each rank)."""

import sys

from stackpipe.train.cli import train_main

sys.exit(train_main(sys.argv[1:]))

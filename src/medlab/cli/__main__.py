"""``python -m medlab.cli``: the same as the ``medlab`` console command."""

import sys

from medlab.cli import main

sys.exit(main())

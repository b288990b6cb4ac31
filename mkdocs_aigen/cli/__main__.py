"""``python -m mkdocs_aigen.cli``: the same as the ``mkdocs-aigen`` console script."""

import sys

from mkdocs_aigen.cli import main

sys.exit(main())

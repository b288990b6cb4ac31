"""``python -m mkdocs_aigen.cli``: the ``mkdocs-aigen`` command."""

import sys

from mkdocs_aigen.cli import main

sys.exit(main())

"""``python -m tidyconf``: the command line."""

from tidyconf.cli import main

raise SystemExit(main())

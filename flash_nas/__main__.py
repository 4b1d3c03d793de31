"""``python -m flash_nas`` runs the command line."""

from flash_nas.cli import main

raise SystemExit(main())

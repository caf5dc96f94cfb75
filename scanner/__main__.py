"""`python -m scanner serve|scan|scan-all ...`."""

from scanner.cli import main

raise SystemExit(main())

"""``python -m dkvb_core``: see :mod:`dkvb_core.cli`."""

import sys

from dkvb_core.cli import main

sys.exit(main())

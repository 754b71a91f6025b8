"""AppTest entry point: runs app/main.py from outside app/.

AppTest treats a ``pages/`` folder next to its main script as an old-style multipage app and
then skips the entry script on reruns; starting from here (no ``pages/`` folder) avoids that.
"""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parents[2] / "app" / "main.py"), run_name="__main__")

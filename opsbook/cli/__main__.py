"""python -m opsbook.cli"""

import sys

from opsbook.cli import main

sys.exit(main())

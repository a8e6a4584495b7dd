"""``python -m naspredict ...``: the ``naspredict`` command."""
import sys

from .cli import main

sys.exit(main())

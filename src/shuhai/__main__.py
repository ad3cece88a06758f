"""``python -m shuhai``: the ``shuhai`` command."""

from shuhai.cli import main

main()

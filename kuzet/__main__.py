"""python -m kuzet"""

from kuzet.cli import main

main()

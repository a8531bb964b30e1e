"""`python -m flaskgen`: the same as the `flaskgen` command."""

from flaskgen.cli import main

main()

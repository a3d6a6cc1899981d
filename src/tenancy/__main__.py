"""`python -m tenancy`: the same command line as the `tenancy` script."""

from tenancy.cli import main

main()

"""Stage 1, inputs: read the files a command names (inside the repository, size-capped) and
parse YAML with every value's line and column. Nothing here judges what it reads."""

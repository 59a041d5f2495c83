"""`python -m github_packages_mcp`: the same as the `github-packages-mcp` command."""

import sys

from github_packages_mcp.cli.start import main

sys.exit(main())

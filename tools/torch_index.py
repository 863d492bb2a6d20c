"""Print pip's arguments for PyTorch's CPU index when that index answers, else nothing.

Used by the Makefile before it installs torch: ``pip install torch==2.13.0 $(python
tools/torch_index.py URL)``. An index pip cannot reach costs about 8 s of retries and a warning
for every package pip looks up (50 warnings and 80 s for torch and its dependencies), so the
Makefile asks once here, and where the index does not answer it says so on stderr and leaves the
choice of build to pip's own configuration. Standard library only: it runs before anything is
installed.
"""

from __future__ import annotations

import sys
import urllib.request


def main(argv: list[str]) -> int:
    url = argv[1].rstrip("/") if len(argv) > 1 else ""
    if not url:
        return 0  # TORCH_INDEX= : no index of our own
    try:
        with urllib.request.urlopen(f"{url}/torch/", timeout=10) as page:
            page.read(1)
    except (OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        print(f"torch: {url} cannot be reached ({reason}); pip's own configuration picks the build",
              file=sys.stderr)
        return 0
    print("--extra-index-url", url)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

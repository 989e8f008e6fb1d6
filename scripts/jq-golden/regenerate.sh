#!/usr/bin/env bash
# Regenerates every jq golden corpus from jq 1.8.2 and writes the agreement rates into
# docs/jq-compatibility.md.
#
# Usage: scripts/jq-golden/regenerate.sh [--jq-repo PATH]
#   --jq-repo PATH (or JQ_REPO=PATH): a clone of jqlang/jq to read the manual from; without it
#   the manual is downloaded from GitHub at the pinned commit.
# Needs: pip install -r scripts/jq-golden/requirements.txt
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
python3 scripts/jq-golden/generate.py "$@"
# One test thread: the corpus tests each rewrite their line of the document.
OCEAN_JQ_GOLDEN_WRITE_DOC=1 cargo test -p ocean-core --test jq_golden -- \
  --include-ignored --test-threads=1 --nocapture 2>&1 | grep -E "cases agree with|test result" || true

#!/usr/bin/env bash
# Refresh docs/screenshots/*.png from the browser tests (a normal test run writes nothing into
# the work tree). Needs Debian's Chromium: `apt-get install chromium`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-.venv/bin/python}
BEDFINDER_PUBLISH_SCREENSHOTS="$(pwd)/docs/screenshots" BEDFINDER_REQUIRE_BROWSER=1 \
  "$PY" -m pytest -q -p no:cacheprovider tests/browser/test_accessibility.py \
  tests/analytics/test_page_browser.py "$@"
ls -l docs/screenshots

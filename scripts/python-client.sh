#!/usr/bin/env bash
# Installs the published Python client (PyPI `motivus`, pinned in test/python/requirements.txt)
# into .venv/ in the project, as a driver author would install it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
req=test/python/requirements.txt
stamp=.venv/.requirements
if [ -x .venv/bin/python ] && cmp -s "$req" "$stamp" 2>/dev/null; then exit 0; fi
"$python" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check --no-input --no-deps motivus==2.4.0
# pip notes that motivus declares websockets==8.1; requirements.txt says why 10.4 instead.
.venv/bin/pip install --quiet --disable-pip-version-check --no-input -r "$req" 2> >(grep -v -e "dependency resolver" -e "requires websockets==8.1" >&2)
.venv/bin/python -c "import motivus.client" # fail here, not in a test, if it cannot import
cp "$req" "$stamp"
echo "published client: $(.venv/bin/pip show motivus 2>/dev/null | grep -E '^Version' ) in .venv"

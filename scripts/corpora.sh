#!/usr/bin/env bash
# Installs the corpora of programs other people published, which the tests run and compare with
# reference outputs (nothing of them is committed): Emscripten builds and wasm-bindgen glue from npm,
# WASI programs from npm and PyPI. Exact versions and checksums: test/corpus/*/package-lock.json,
# test/corpus/wasi/requirements-pypi.txt and SHA256SUMS; licences: each folder's SOURCES/README.
# Idempotent; tests whose programs are missing are skipped, saying so.
set -euo pipefail
cd "$(dirname "$0")/.."
for corpus in emscripten wasm-bindgen; do
  npm ci --prefix "test/corpus/$corpus" --ignore-scripts --no-audit --no-fund --loglevel=error
done
# pip from the project's virtual environment (scripts/python-client.sh made it), else python3's.
PYTHON="${PYTHON:-$([ -x .venv/bin/python ] && echo "$PWD/.venv/bin/python" || echo python3)}" bash test/corpus/wasi/fetch.sh

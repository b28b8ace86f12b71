# Shared by scripts/serve and scripts/test: make .venv with a Python >= 3.11 and install the
# project into it (again only when pyproject.toml changed). Sourced, not run.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

find_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "OpenHire needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

setup_venv() {
  local extras="$1"   # "" or "[dev]"
  local venv="$ROOT/.venv"
  if [ ! -x "$venv/bin/python" ]; then
    echo "==> creating $venv" >&2
    "$(find_python)" -m venv "$venv"
  fi
  local stamp="$venv/.openhire-installed$extras"
  local want
  want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing openhire$extras into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".$extras" >&2
    echo "$want" >"$stamp"
  fi
}

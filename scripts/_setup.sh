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

# The browser tests (tests/test_browser.py) drive the system's Chromium, Debian's package, never a
# browser downloaded by Playwright. Install it when missing and we may (root, or sudo without a
# password); otherwise say how. The tests skip without it, except with CI=true, where they fail.
ensure_chromium() {
  local chromium="${OPENHIRE_CHROMIUM:-/usr/bin/chromium}"
  [ -x "$chromium" ] && return 0
  local run=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      run=(sudo -n)
    else
      run=(false)
    fi
  fi
  if command -v apt-get >/dev/null 2>&1 && [ "${run[0]:-}" != false ]; then
    echo "==> installing chromium for the browser tests" >&2
    "${run[@]}" apt-get install -y --no-install-recommends chromium >&2 ||
      { "${run[@]}" apt-get update >&2 &&
        "${run[@]}" apt-get install -y --no-install-recommends chromium >&2; } ||
      true
  fi
  if [ ! -x "$chromium" ]; then
    echo "openhire: the browser tests need Chromium at $chromium; install it with" >&2
    echo "  sudo apt-get install -y --no-install-recommends chromium" >&2
    echo "  (without it they are skipped, and with CI=true they fail)" >&2
  fi
}

# The cluster tests (tests/test_cluster*.py) run three nodes behind a real HAProxy, on a
# redis-server of their own: both from Debian's packages, installed here like Chromium.
ensure_cluster_tools() {
  local missing=()
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ ${#missing[@]} -eq 0 ] && return 0
  local run=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      run=(sudo -n)
    else
      run=(false)
    fi
  fi
  if command -v apt-get >/dev/null 2>&1 && [ "${run[0]:-}" != false ]; then
    echo "==> installing ${missing[*]} for the cluster tests" >&2
    "${run[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
      { "${run[@]}" apt-get update >&2 &&
        "${run[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2; } ||
      true
  fi
  if ! { command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; } ||
     ! command -v redis-server >/dev/null 2>&1; then
    echo "openhire: the cluster tests need haproxy and redis-server; install them with" >&2
    echo "  sudo apt-get install -y --no-install-recommends haproxy redis-server" >&2
    echo "  (without them they are skipped, and with CI=true they fail)" >&2
  fi
}

# The speech tests (tests/test_speech_*.py) speak known sentences with espeak-ng, Debian's
# package (the transcription stand-in recognises them). Install it when missing and we may;
# otherwise say how. The tests skip without it, except with CI=true, where they fail.
ensure_speech_tools() {
  command -v espeak-ng >/dev/null 2>&1 && return 0
  local run=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      run=(sudo -n)
    else
      run=(false)
    fi
  fi
  if command -v apt-get >/dev/null 2>&1 && [ "${run[0]:-}" != false ]; then
    echo "==> installing espeak-ng for the speech tests" >&2
    "${run[@]}" apt-get install -y --no-install-recommends espeak-ng >&2 ||
      { "${run[@]}" apt-get update >&2 &&
        "${run[@]}" apt-get install -y --no-install-recommends espeak-ng >&2; } ||
      true
  fi
  if ! command -v espeak-ng >/dev/null 2>&1; then
    echo "openhire: the speech tests need espeak-ng; install it with" >&2
    echo "  sudo apt-get install -y --no-install-recommends espeak-ng" >&2
    echo "  (without it they are skipped, and with CI=true they fail)" >&2
  fi
}

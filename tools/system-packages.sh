#!/usr/bin/env bash
# Install the Debian/Ubuntu packages Hoister needs for a purpose ("run" or "test"),
# only those missing. As root it uses apt-get; otherwise it prints the exact command.
set -euo pipefail

purpose=${1:-test}

# Qt's xcb and offscreen platform plugins load these at run time.
qt=(libgl1 libegl1 libfontconfig1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3 libglib2.0-0
    libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
    libxcb-shape0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1)
base=(python3 python3-venv python3-pip)
case "$purpose" in
  # the sandbox registry of the welcome page needs docker-registry too
  run)  wanted=("${base[@]}" "${qt[@]}" docker-registry) ;;
  # tests: a real registry, an independent client, a real Secret Service keyring, the
  # validators of the packaging files (.desktop, AppStream metainfo, systemd units), and
  # postgresql: the team-store tests start a real server (initdb + pg_ctl, tests/support)
  test) wanted=("${base[@]}" "${qt[@]}" docker-registry skopeo gnome-keyring dbus-daemon xvfb locales
                desktop-file-utils appstream systemd postgresql) ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system-packages: not a Debian/Ubuntu system; install the equivalents of: ${wanted[*]}" >&2
  exit 0
fi

missing=()
for pkg in "${wanted[@]}"; do
  case "$pkg" in
    python3|python3-venv|python3-pip)
      # a Python from elsewhere (pyenv, a CI image) with venv and pip is just as good
      if python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || python3 -m pip --version >/dev/null 2>&1; then
        continue
      fi ;;
    docker-registry)
      if command -v registry >/dev/null 2>&1 || command -v docker-registry >/dev/null 2>&1; then
        continue
      fi ;;
    postgresql)
      # a versioned server package (postgresql-15) or a server on PATH is just as good:
      # tests/support/postgres.py finds either
      if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
        || { command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; }; then
        continue
      fi ;;
  esac
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "system-packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "Hoister needs these system packages: ${missing[*]}" >&2
  echo "Install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

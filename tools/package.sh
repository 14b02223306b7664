#!/usr/bin/env bash
# The desktop bundle: `package.sh build` makes dist/hoister/ with PyInstaller,
# `package.sh check` runs the built program the way a user would and fails loudly if any
# part of it does not work (see packaging/README.md). `make package`, `make package-check`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
DIST=dist/hoister
BIN=$PWD/$DIST/hoister
REVISIONS=$PWD/app/hoister/store/revisions/versions
# A hung GUI must fail the check, not stall CI until its own time limit.
LIMIT=${PACKAGE_CHECK_TIMEOUT:-120}

fail() {
  echo "package-check: FAILED: $*" >&2
  exit 1
}

build() {
  # PyInstaller reads ELF files with objdump (binutils); install it as system-packages.sh does.
  if ! command -v objdump >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binutils \
        || { apt-get update -qq && apt-get install -y -qq --no-install-recommends binutils; }
    else
      echo "package: PyInstaller needs objdump: sudo apt-get install -y binutils" >&2
      exit 1
    fi
  fi
  local start=$SECONDS
  "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build packaging/hoister.spec
  echo "package: built $DIST in $((SECONDS - start)) s, $(du -sh "$DIST" | cut -f1)"
}

check() {
  [ -x "$BIN" ] || fail "no bundle at $DIST; run make package first"
  local out
  scratch=$(mktemp -d)  # global: the EXIT trap runs after check has returned
  trap 'rm -rf "$scratch"' EXIT
  # Run from elsewhere, so nothing can come from the source tree.
  cd "$scratch"

  out=$(timeout "$LIMIT" "$BIN" --version) || fail "hoister --version"
  [[ $out == "hoister "* ]] || fail "hoister --version printed '$out'"
  echo "package-check: $out"

  out=$(HOISTER_HOME=$scratch/cli timeout "$LIMIT" "$BIN" template "%n-qa" --tag 1.0) \
    || fail "hoister template"
  [ "$out" = "1.0-qa" ] || fail "hoister template printed '$out', expected '1.0-qa'"
  echo "package-check: template renders: $out"

  # A new store: the schema's revisions are read from the bundle (Alembic loads them by path).
  out=$(HOISTER_HOME=$scratch/cli timeout "$LIMIT" "$BIN" store info) || fail "hoister store info"
  # The newest revision's number is the schema version (app/hoister/store/schema.py).
  latest=$(ls "$REVISIONS" | sed -n 's/^0*\([0-9][0-9]*\)_.*\.py$/\1/p' \
    | sort -n | tail -1)
  [[ $out == *"schema       version $latest"* ]] || fail "hoister store info printed '$out'"
  echo "package-check: store created at schema $latest"

  out=$(QT_QPA_PLATFORM=offscreen HOISTER_HOME=$scratch/gui \
    timeout "$LIMIT" "$BIN" gui --smoke-test) || fail "hoister gui --smoke-test (its messages are above)"
  [[ $out == *"main window shown"* ]] || fail "hoister gui --smoke-test printed '$out'"
  echo "package-check: $out"

  check_keyring
  echo "package-check: OK"
}

# The Secret Service backend, secretstorage, jeepney and cryptography are all loaded at run
# time: store and delete a password through a private gnome-keyring on a private bus.
check_keyring() {
  if ! command -v dbus-run-session >/dev/null 2>&1 \
    || ! command -v gnome-keyring-daemon >/dev/null 2>&1; then
    echo "package-check: keyring check SKIPPED (needs dbus-run-session and gnome-keyring-daemon;" \
      "make sysdeps-test installs them)"
    return 0
  fi
  local home=$scratch/keyring out
  mkdir -p -m 700 "$home/run" "$home/data" "$home/config"
  out=$(
    unset DISPLAY WAYLAND_DISPLAY GNOME_KEYRING_CONTROL SSH_AUTH_SOCK
    export HOME=$home XDG_RUNTIME_DIR=$home/run XDG_DATA_HOME=$home/data
    export XDG_CONFIG_HOME=$home/config HOISTER_HOME=$home/hoister
    timeout "$LIMIT" dbus-run-session -- sh -c '
      # --unlock with a password creates an unlocked default keyring, no prompt needed
      printf package-check | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
        || exit 3
      QT_QPA_PLATFORM=offscreen "$1" gui --smoke-test || exit 4
      echo package-check-secret | "$1" profile add qa --url https://registry.invalid \
        --username qa --password-stdin --no-verify 2>&1 || exit 5
      "$1" profile remove qa 2>&1 || exit 6
    ' sh "$BIN" 2>&1
  ) || fail "keyring check (status $?): $out"
  [[ $out == *"keyring: keyring.backends.SecretService.Keyring"* ]] \
    || fail "the bundle did not use the Secret Service keyring: $out"
  [[ $out != *"hoister: warning"* ]] || fail "the password was not stored in the keyring: $out"
  echo "package-check: Secret Service keyring works (password stored and removed)"
}

case "${1:-}" in
  build) build ;;
  check) check ;;
  *) echo "usage: $0 build|check" >&2; exit 2 ;;
esac

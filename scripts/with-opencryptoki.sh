#!/usr/bin/env bash
# Runs a command next to a throwaway opencryptoki soft token, without touching the machine's own
# opencryptoki state.
#
# Usage:  scripts/with-opencryptoki.sh [--dir DIR] -- COMMAND [ARGS...]
#
# opencryptoki hard-codes its paths (/etc/opencryptoki, /var/lib/opencryptoki, /run/lock/opencryptoki,
# /var/log/opencryptoki, /run/pkcsslotd.{socket,pid}) and keeps state in System V IPC and /dev/shm. So the
# script keeps the token's files in DIR (default: a new temporary directory, removed at the end) and runs
# its slot daemon pkcsslotd and COMMAND inside a private mount, IPC and PID namespace
# (`unshare --mount --ipc --pid --fork --propagation private`), with tmpfs over /run, /dev/shm and
# /var/log and bind mounts of DIR over the fixed paths. Nothing outside the namespace sees any of it.
#
# Inside, a soft token (stdll libpkcs11_sw.so, slot 0) is initialised with random SO and user PINs, and
# COMMAND runs with these variables set:
#   KEYSWITCH_OPENCRYPTOKI_MODULE  the PKCS#11 library to load (libopencryptoki.so)
#   KEYSWITCH_OPENCRYPTOKI_TOKEN   the token label ("keyswitch")
#   KEYSWITCH_OPENCRYPTOKI_PIN     the user PIN
#   KEYSWITCH_OPENCRYPTOKI_SO_PIN  the security officer PIN
# At the end the daemon is stopped by its pid (and the PID namespace ends whatever is left), and the
# script exits with COMMAND's status.
#
# Needs root (namespaces, mounts) and Debian's `opencryptoki`, which it installs with apt-get when missing.
set -euo pipefail

say() { printf '[opencryptoki] %s\n' "$*" >&2; }
fail() { printf '[opencryptoki] error: %s\n' "$*" >&2; exit 1; }

# ---- inside the namespace --------------------------------------------------------------------------

if [[ ${1:-} == --inside-namespace ]]; then
  shift
  dir=$1
  shift
  mount -t tmpfs -o mode=755 keyswitch-run /run
  mount -t tmpfs -o mode=1777 keyswitch-shm /dev/shm
  mount -t tmpfs -o mode=755 keyswitch-log /var/log
  mkdir -p /run/lock/opencryptoki/swtok /var/log/opencryptoki
  chgrp -R pkcs11 /run/lock/opencryptoki /var/log/opencryptoki
  chmod -R 770 /run/lock/opencryptoki /var/log/opencryptoki
  mount --bind "$dir/etc" /etc/opencryptoki
  mount --bind "$dir/lib" /var/lib/opencryptoki

  pkcsslotd || fail "pkcsslotd did not start"
  daemon=""
  for _ in $(seq 1 100); do
    if [[ -s /run/pkcsslotd.pid ]]; then
      daemon=$(tr -dc '0-9' </run/pkcsslotd.pid)
      break
    fi
    sleep 0.05
  done
  [[ -n $daemon ]] || fail "pkcsslotd wrote no pid file"
  stop_daemon() {
    kill -TERM "$daemon" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
      kill -0 "$daemon" 2>/dev/null || return 0
      sleep 0.05
    done
    kill -KILL "$daemon" 2>/dev/null || true
  }
  trap stop_daemon EXIT

  # The soft token takes PINs of 4 to 8 characters.
  random_pin() { od -An -N4 -tx1 /dev/urandom | tr -d ' \n'; }
  so_pin=$(random_pin)
  user_pin=$(random_pin)
  label=keyswitch
  # pkcsconf asks for the label on stdin; 87654321 is the soft token's factory SO PIN.
  printf '%s\n' "$label" | pkcsconf -c 0 -I -S 87654321 >/dev/null || fail "pkcsconf -I (initialise token) failed"
  pkcsconf -c 0 -P -S 87654321 -n "$so_pin" >/dev/null || fail "pkcsconf -P (set SO PIN) failed"
  pkcsconf -c 0 -u -S "$so_pin" -n "$user_pin" >/dev/null || fail "pkcsconf -u (set user PIN) failed"
  # pkcsconf exits 0 after some failures: check the token's flags instead.
  flags=$(pkcsconf -c 0 -t | grep -m1 'Flags:' || true)
  [[ $flags == *USER_PIN_INITIALIZED* && $flags != *SO_PIN_TO_BE_CHANGED* ]] ||
    fail "the soft token was not initialised as expected ($flags)"
  say "soft token \"$label\" in slot 0, files in $dir"

  : "${KEYSWITCH_OPENCRYPTOKI_MODULE:?}"
  export KEYSWITCH_OPENCRYPTOKI_TOKEN=$label
  export KEYSWITCH_OPENCRYPTOKI_PIN=$user_pin
  export KEYSWITCH_OPENCRYPTOKI_SO_PIN=$so_pin
  status=0
  "$@" || status=$?
  exit "$status"
fi

# ---- outside: install, prepare DIR, enter the namespace --------------------------------------------

dir=""
if [[ ${1:-} == --dir ]]; then
  (($# >= 2)) || fail "usage: $0 [--dir DIR] -- COMMAND [ARGS...]"
  dir=$2
  shift 2
fi
[[ ${1:-} == -- ]] || fail "usage: $0 [--dir DIR] -- COMMAND [ARGS...]"
shift
(($# > 0)) || fail "usage: $0 [--dir DIR] -- COMMAND [ARGS...]"
[[ $(id -u) -eq 0 ]] || fail "needs root: it runs opencryptoki in private mount and IPC namespaces"
command -v unshare >/dev/null 2>&1 || fail "unshare (util-linux) is missing"

find_module() {
  local multiarch candidate
  multiarch="$(uname -m 2>/dev/null || echo x86_64)-linux-gnu"
  for candidate in "/usr/lib/$multiarch/opencryptoki/libopencryptoki.so" \
    "/usr/lib/$multiarch/pkcs11/libopencryptoki.so" /usr/lib64/opencryptoki/libopencryptoki.so \
    /usr/lib/opencryptoki/libopencryptoki.so; do
    [[ -f $candidate ]] && { printf '%s\n' "$candidate"; return 0; }
  done
  return 1
}

if ! command -v pkcsslotd >/dev/null 2>&1 || ! command -v pkcsconf >/dev/null 2>&1 || ! find_module >/dev/null; then
  command -v apt-get >/dev/null 2>&1 || fail "opencryptoki is missing and apt-get is not available"
  say "installing opencryptoki with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || fail "apt-get update failed"
  apt-get install -y -qq --no-install-recommends opencryptoki >&2 || fail "apt-get install opencryptoki failed"
fi
module=$(find_module) || fail "libopencryptoki.so not found after installing opencryptoki"
getent group pkcs11 >/dev/null || fail "the pkcs11 group is missing (the opencryptoki package creates it)"
[[ -d /etc/opencryptoki && -d /var/lib/opencryptoki ]] || fail "/etc/opencryptoki or /var/lib/opencryptoki is missing"

remove_dir=false
if [[ -z $dir ]]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/keyswitch-opencryptoki.XXXXXX")
  remove_dir=true
else
  mkdir -p "$dir"
  [[ -z $(ls -A "$dir") ]] || fail "$dir is not empty; give an empty DIR"
fi
dir=$(cd "$dir" && pwd)
mkdir -p "$dir/etc" "$dir/lib/swtok/TOK_OBJ"
cat >"$dir/etc/opencryptoki.conf" <<'EOF'
# Throwaway opencryptoki configuration made by keyswitch scripts/with-opencryptoki.sh: one soft token.
version opencryptoki-3.1
slot 0
{
stdll = libpkcs11_sw.so
}
EOF
chgrp -R pkcs11 "$dir"
chmod -R g+rwX "$dir"
cleanup() { if $remove_dir; then rm -rf "$dir"; fi; }
trap cleanup EXIT

status=0
KEYSWITCH_OPENCRYPTOKI_MODULE=$module unshare --mount --ipc --pid --fork --mount-proc --propagation private \
  bash "$0" --inside-namespace "$dir" "$@" || status=$?
exit "$status"

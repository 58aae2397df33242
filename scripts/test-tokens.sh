#!/usr/bin/env bash
# Creates throwaway PKCS#11 tokens for keyswitch's tests and example configurations:
#   - a SoftHSM2 token (label "keyswitch") with its own SOFTHSM2_CONF and token directory;
#   - an NSS softokn database (token "NSS Certificate DB") with a password.
#
# Usage:  scripts/test-tokens.sh [DIR]
#         eval "$(scripts/test-tokens.sh)"        # then: examples/configs/softhsm2.json, nss.json work
#
# DIR defaults to a new temporary directory. Installs the Debian packages softhsm2, libnss3-tools and
# opensc with apt-get when a tool is missing (as root only; otherwise prints the command and fails).
# stdout carries only `export NAME=value` lines, so it can be eval'd; progress goes to stderr.
set -euo pipefail

say() { printf '[test-tokens] %s\n' "$*" >&2; }
fail() { printf '[test-tokens] error: %s\n' "$*" >&2; exit 1; }

# ---- tools -----------------------------------------------------------------------------------------

find_library() {
  # $1: file name. Prints the first existing path among the usual Debian/Ubuntu/Fedora locations.
  local name=$1 dir
  local multiarch
  multiarch="$(uname -m 2>/dev/null || echo x86_64)-linux-gnu"
  for dir in /usr/lib/softhsm "/usr/lib/$multiarch/softhsm" "/usr/lib/$multiarch" /usr/lib64/softhsm \
    /usr/lib64 /usr/lib /usr/local/lib/softhsm /usr/local/lib; do
    if [[ -f "$dir/$name" ]]; then
      printf '%s\n' "$dir/$name"
      return 0
    fi
  done
  return 1
}

find_p11kit_client() {
  # p11-kit's client module, which reaches a token that `p11-kit server` serves over a Unix socket.
  local multiarch dir
  multiarch="$(uname -m 2>/dev/null || echo x86_64)-linux-gnu"
  for dir in "/usr/lib/$multiarch/pkcs11" /usr/lib64/pkcs11 /usr/lib/pkcs11; do
    if [[ -f "$dir/p11-kit-client.so" ]]; then
      printf '%s\n' "$dir/p11-kit-client.so"
      return 0
    fi
  done
  return 1
}

missing_packages() {
  local packages=()
  if ! command -v softhsm2-util >/dev/null 2>&1 || ! find_library libsofthsm2.so >/dev/null; then
    packages+=(softhsm2)
  fi
  if ! command -v certutil >/dev/null 2>&1 || ! find_library libsoftokn3.so >/dev/null; then
    packages+=(libnss3-tools)
  fi
  if ! command -v pkcs11-tool >/dev/null 2>&1; then packages+=(opensc); fi
  if ! command -v p11-kit >/dev/null 2>&1; then packages+=(p11-kit); fi
  if ! find_p11kit_client >/dev/null; then packages+=(p11-kit-modules); fi
  if ((${#packages[@]} > 0)); then printf '%s\n' "${packages[@]}"; fi
}

mapfile -t missing < <(missing_packages)
if ((${#missing[@]} > 0)); then
  command="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    fail "missing ${missing[*]}; install them first (as root): $command"
  fi
  command -v apt-get >/dev/null 2>&1 || fail "missing ${missing[*]} and apt-get is not available"
  say "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || fail "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || fail "apt-get install ${missing[*]} failed"
  mapfile -t still < <(missing_packages)
  ((${#still[@]} == 0)) || fail "still missing after apt-get install: ${still[*]}"
fi

softhsm_module=$(find_library libsofthsm2.so) || fail "libsofthsm2.so not found"
nss_module=$(find_library libsoftokn3.so) || fail "libsoftokn3.so not found"

# ---- directory -------------------------------------------------------------------------------------

if (($# > 1)); then fail "usage: $0 [DIR]"; fi
if (($# == 1)); then
  dir=$1
  mkdir -p "$dir"
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/keyswitch-tokens.XXXXXX")
fi
dir=$(cd "$dir" && pwd)
[[ $dir != *"'"* && $dir != *' '* ]] || fail "DIR must not contain quotes or spaces (NSS parameters): $dir"

random_pin() { od -An -N8 -tx1 /dev/urandom | tr -d ' \n'; }

# ---- SoftHSM2 --------------------------------------------------------------------------------------

softhsm_dir="$dir/softhsm2"
if [[ -e "$softhsm_dir" ]]; then fail "$softhsm_dir already exists; give an empty DIR"; fi
mkdir -p "$softhsm_dir/tokens"
cat >"$softhsm_dir/softhsm2.conf" <<EOF
# Throwaway SoftHSM2 configuration made by keyswitch scripts/test-tokens.sh
directories.tokendir = $softhsm_dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
softhsm_label=keyswitch
softhsm_pin=$(random_pin)
softhsm_so_pin=$(random_pin)
SOFTHSM2_CONF="$softhsm_dir/softhsm2.conf" softhsm2-util --init-token --free --label "$softhsm_label" \
  --pin "$softhsm_pin" --so-pin "$softhsm_so_pin" >&2 || fail "softhsm2-util --init-token failed"
say "SoftHSM2 token \"$softhsm_label\" in $softhsm_dir"

# ---- NSS softokn -----------------------------------------------------------------------------------

nss_dir="$dir/nss"
mkdir -p "$nss_dir"
nss_pin=$(random_pin)
printf '%s\n' "$nss_pin" >"$dir/nss-password.txt"
chmod 600 "$dir/nss-password.txt"
certutil -N -d "sql:$nss_dir" -f "$dir/nss-password.txt" >&2 || fail "certutil -N failed"
rm -f "$dir/nss-password.txt"
# pkcs11js 2.1.7 drops the last character of libraryParameters; the keyswitch pkcs11 provider adds a
# space for it, so this value is the parameters exactly as NSS should read them.
nss_parameters="configdir='sql:$nss_dir' certPrefix='' keyPrefix='' secmod='secmod.db' flags="
say "NSS database in $nss_dir (token \"NSS Certificate DB\")"

# ---- environment -----------------------------------------------------------------------------------

# The SoftHSM2 token can also be reached remotely: `p11-kit server` serves it over a Unix socket (the
# tests start and stop that server themselves) and p11-kit's client module, with P11_KIT_SERVER_ADDRESS
# set, reaches it.
p11kit_client=$(find_p11kit_client) || fail "p11-kit-client.so not found"

q() { printf '%q' "$1"; }
cat <<EOF
export KEYSWITCH_TEST_TOKENS_DIR=$(q "$dir")
export SOFTHSM2_CONF=$(q "$softhsm_dir/softhsm2.conf")
export KEYSWITCH_SOFTHSM2_MODULE=$(q "$softhsm_module")
export KEYSWITCH_SOFTHSM2_TOKEN=$(q "$softhsm_label")
export KEYSWITCH_SOFTHSM2_PIN=$(q "$softhsm_pin")
export KEYSWITCH_SOFTHSM2_SO_PIN=$(q "$softhsm_so_pin")
export KEYSWITCH_NSS_MODULE=$(q "$nss_module")
export KEYSWITCH_NSS_DB=$(q "$nss_dir")
export KEYSWITCH_NSS_LIBRARY_PARAMETERS=$(q "$nss_parameters")
export KEYSWITCH_NSS_TOKEN=$(q "NSS Certificate DB")
export KEYSWITCH_NSS_PIN=$(q "$nss_pin")
export KEYSWITCH_P11KIT_CLIENT_MODULE=$(q "$p11kit_client")
EOF

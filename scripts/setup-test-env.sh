#!/usr/bin/env bash
# Installs what the whole test suite needs, then the workspace's npm packages. Idempotent: it installs
# only what is missing. System packages come from the distribution (Debian or Ubuntu):
#   softhsm2       SoftHSM2, the PKCS#11 token the pkcs11 backend is tested on
#   libnss3        NSS softokn (libsoftokn3.so), the second PKCS#11 token
#   libnss3-tools  certutil, which creates the NSS token's database
#   opensc         pkcs11-tool, for interoperability tests
#   opencryptoki   the third PKCS#11 token (its soft token), run by scripts/with-opencryptoki.sh
#   openssl        verifies CSRs and certificates, and cross-checks signatures
#   p11-kit, p11-kit-modules  `p11-kit server` and its client module: the SoftHSM2 token as a remote token
set -euo pipefail
cd "$(dirname "$0")/.."

needed=()
command -v softhsm2-util >/dev/null 2>&1 || needed+=(softhsm2)
[ -n "$(ls /usr/lib/*/libsoftokn3.so /usr/lib/libsoftokn3.so 2>/dev/null | head -n 1)" ] || needed+=(libnss3)
command -v certutil >/dev/null 2>&1 || needed+=(libnss3-tools)
command -v pkcs11-tool >/dev/null 2>&1 || needed+=(opensc)
command -v openssl >/dev/null 2>&1 || needed+=(openssl)
command -v p11-kit >/dev/null 2>&1 || needed+=(p11-kit)
[ -n "$(ls /usr/lib/*/pkcs11/p11-kit-client.so /usr/lib64/pkcs11/p11-kit-client.so 2>/dev/null | head -n 1)" ] || needed+=(p11-kit-modules)
command -v pkcsslotd >/dev/null 2>&1 || needed+=(opencryptoki)

if [ "${#needed[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] installing ${needed[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "[setup] installing ${needed[*]} with sudo"
    sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
  else
    echo "[setup] missing system packages: ${needed[*]}" >&2
    echo "[setup] install them with: sudo apt-get install ${needed[*]}" >&2
    if [ "${CI:-}" = "true" ]; then exit 1; fi
    echo "[setup] continuing: the suites that need them will say so (and fail under CI=true)" >&2
  fi
fi

if [ ! -d node_modules/.pnpm ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  echo "[setup] installing npm packages"
  pnpm install --frozen-lockfile
fi

#!/usr/bin/env bash
# Installs what Rapport needs outside Python, if it is missing: a C compiler and the Python
# headers (the install compiles the sentiment annotator with mypyc, see setup.py), a Java runtime
# and Maven (for the local Kafka broker), PostgreSQL (for the database tests) and Chromium with its
# driver (for the web console's browser tests). Debian/Ubuntu packages; needs root for apt-get.
# Idempotent: does nothing when everything is there.
# PYTHON names the interpreter the virtual environment is made from (default python3).
set -euo pipefail

missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
if ! "${PYTHON:-python3}" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
  missing+=(python3-dev)
fi
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  missing+=(postgresql)
fi
# The console's and the report's browser tests (selenium drives Debian's headless Chromium).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing system packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    echo "need root to install ${missing[*]} (apt-get); install them and re-run" >&2; exit 1
  fi
else
  sudo_cmd=()
fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# What the browser tests need, installed once (idempotent, offline once done):
# Debian's chromium, and puppeteer-core (pinned in package.json and
# package-lock.json) in tests/browser/node_modules. Never a browser download.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x /usr/bin/chromium ]; then
  echo "browser setup: installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if [ ! -f node_modules/puppeteer-core/package.json ]; then
  echo "browser setup: npm install (puppeteer-core)"
  export PUPPETEER_SKIP_DOWNLOAD=1
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --ignore-scripts >/dev/null
  else
    npm install --no-audit --no-fund --ignore-scripts >/dev/null
  fi
fi

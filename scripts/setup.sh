#!/usr/bin/env bash
# Installs what the project needs on a fresh machine (idempotent: quick when all is there).
set -euo pipefail
rustup component add rustfmt clippy >/dev/null 2>&1 || rustup component add rustfmt clippy
rustup target add thumbv6m-none-eabi thumbv7em-none-eabihf >/dev/null 2>&1 \
  || rustup target add thumbv6m-none-eabi thumbv7em-none-eabihf

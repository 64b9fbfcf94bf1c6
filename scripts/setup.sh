#!/usr/bin/env bash
# Installs what the project needs on a fresh machine (idempotent: quick when all is there):
# Rust components and thumb targets, and Debian's qemu-system-arm (the emulated boards) and
# binutils-arm-none-eabi (nm for the runner, size for the firmware's flash and RAM).
set -euo pipefail
rustup component add rustfmt clippy >/dev/null 2>&1 || rustup component add rustfmt clippy
rustup target add thumbv6m-none-eabi thumbv7em-none-eabihf >/dev/null 2>&1 \
  || rustup target add thumbv6m-none-eabi thumbv7em-none-eabihf
missing=()
command -v qemu-system-arm >/dev/null || missing+=(qemu-system-arm)
command -v arm-none-eabi-nm >/dev/null || missing+=(binutils-arm-none-eabi)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

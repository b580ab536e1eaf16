#!/bin/sh
# Install Debian's Chromium for the browser tests (tests/browser), unless it is already there.
#
# Non-interactive and quiet. Runs apt-get directly as root, through `sudo -n` otherwise;
# exits non-zero with a message saying what to do when it can do neither.
# Set AELAB_CHROMIUM to use a browser installed elsewhere; this script then only checks it.
set -eu

CHROMIUM="${AELAB_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ -n "${AELAB_CHROMIUM:-}" ]; then
    echo "install-browser: AELAB_CHROMIUM=$AELAB_CHROMIUM is not an executable file" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: no apt-get on this system; install Chromium yourself and set" \
        "AELAB_CHROMIUM to its executable" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
else
    echo "install-browser: installing Chromium needs root; run as root," \
        "or run: sudo apt-get install chromium" >&2
    exit 1
fi

echo "install-browser: installing Debian's chromium package (for the browser tests)" >&2
# fonts-liberation is one of chromium's own dependencies; named so the text renders the same
# wherever the set-up runs.
if ! $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
    || ! $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        -o Dpkg::Use-Pty=0 chromium fonts-liberation >/dev/null; then
    echo "install-browser: apt-get could not install chromium (see the messages above)" >&2
    exit 1
fi

if [ ! -x "$CHROMIUM" ]; then
    echo "install-browser: chromium was installed but $CHROMIUM is missing" >&2
    exit 1
fi

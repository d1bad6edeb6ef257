#!/usr/bin/env bash
# Install headless Chromium (Debian package) for the `browser` tests that render report.html.
# Idempotent: does nothing when a chromium binary is already on PATH.
set -euo pipefail

for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then
        echo "Chromium found: $(command -v "$name") ($("$name" --version 2>/dev/null || echo 'version unknown'))"
        exit 0
    fi
done

bash "$(dirname "$0")/apt-install.sh" chromium
command -v chromium

#!/usr/bin/env bash
# Install Debian packages non-interactively (with sudo when not root): apt-install.sh PKG...
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "Installing from Debian packages: $*"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "$@"

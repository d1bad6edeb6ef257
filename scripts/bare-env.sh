#!/usr/bin/env bash
# Run a command as on a fresh machine: an empty HOME (no caches, no ~/.local) and a PATH on which
# no `uv` exists. Used by .ci/run to prove that the README's two commands work the first time.
#   scripts/bare-env.sh make train
set -euo pipefail

python="$(command -v python3)"
python="$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo "$python")"

bare_home="$(mktemp -d -t los-home.XXXXXX)"
shims="$(mktemp -d -t los-bin.XXXXXX)"
# python3 itself may live beside a pip-installed uv (pyenv, a venv): reach it through a shim dir.
ln -s "$python" "$shims/python3"
ln -s "$python" "$shims/python3.11" 2>/dev/null || true

new_path="$shims"
IFS=':' read -r -a dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
    [ -n "$dir" ] || continue
    [ -e "$dir/uv" ] && continue # a directory that holds uv is left out
    new_path="$new_path:$dir"
done

export HOME="$bare_home" PATH="$new_path"
unset UV_CACHE_DIR UV_TOOL_DIR UV_PYTHON_INSTALL_DIR VIRTUAL_ENV XDG_CACHE_HOME XDG_DATA_HOME
if command -v uv >/dev/null 2>&1; then
    echo "bare-env: uv is still on PATH at $(command -v uv)" >&2
    exit 1
fi
echo "bare-env: HOME=$HOME (empty), no uv on PATH, python3=$python" >&2
exec "$@"

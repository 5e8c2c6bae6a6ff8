#!/usr/bin/env bash
# Rewrites docker/requirements.lock, which the image installs with --require-hashes: every package of
# the [hub] extra (and of the SDK under it) at the version .venv has, the one the tests ran with, and
# the sha256 of every file PyPI has for that version. Run from anywhere after changing pyproject.toml
# or upgrading .venv; needs Python 3.11 (the image's) as python3, and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import sys; assert sys.version_info[:2] == (3, 11), "resolve with the image'"'"'s Python, 3.11"'
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools/venv"
PIP_CONFIG_FILE=/dev/null "$tools/venv/bin/pip" install --quiet --index-url https://pypi.org/simple pip-tools
.venv/bin/python -m pip freeze --exclude-editable | grep -v '^coalition-exchange' > "$tools/constraints.txt"
# PyPI only: the hashes must be those of the files the image build downloads.
env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="bash docker/lock.sh" \
    "$tools/venv/bin/pip-compile" --quiet \
    --extra hub --strip-extras --allow-unsafe --generate-hashes \
    --index-url https://pypi.org/simple --no-emit-index-url \
    --constraint "$tools/constraints.txt" \
    --output-file docker/requirements.lock pyproject.toml
# Name the constraints by what they are, not by a temporary path that changes every run.
sed -i "s|-c $tools/constraints.txt|-c .venv (pip freeze)|" docker/requirements.lock

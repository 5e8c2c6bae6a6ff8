#!/usr/bin/env bash
# Lint the gRPC contract (protos/) and check it for breaking changes against the last release.
#
# Usage: scripts/buf.sh            lint + breaking check; silent and exit 0 when both pass,
#                                  otherwise prints every finding and exits non-zero
#        scripts/buf.sh baseline   cut a release baseline (see below)
#
# buf comes from the npm registry (@bufbuild/buf, an exact version in package.json, locked with
# package-lock.json). When node_modules/ lacks that version, this script installs it with
# `npm ci`, so a fresh clone needs only Node and npm. Rules live in buf.yaml: lint uses STANDARD
# and the breaking check uses FILE.
#
# The last released contract is the binary buf image in $BASELINE. It is compared with the
# contract in the work tree, so any change that would break a client built against the release
# fails here.
#
# Cutting a release baseline: when a release of the contract is tagged, rebuild the image from
# the contract being released and commit it together with the tag:
#     scripts/buf.sh baseline           (or: make proto-baseline)
#     git add protos/released/ && git commit -m "Contract baseline for <tag>"
# `baseline` runs the lint and breaking checks first and refuses to overwrite the image if
# either fails. So a release of v1 can only add to the previous one, and a rebuilt baseline
# can never hide a break. A change that really must break clients belongs in a new package
# (coalition.exchange.v2), which gets its own baseline file once it is first released.
set -euo pipefail
cd "$(dirname "$0")/.."

BASELINE=protos/released/coalition-exchange-v1.binpb
BUF=node_modules/.bin/buf

# Install buf when it is missing or is not the version package.json pins (e.g. after a bump).
wanted=$(node -p "require('./package.json').devDependencies['@bufbuild/buf']")
installed=$(node -p "try { require('./node_modules/@bufbuild/buf/package.json').version } catch { '' }")
if [[ ! -x $BUF || $installed != "$wanted" ]]; then
    log=$(mktemp)
    # --ignore-scripts: the package's bin/buf runs the platform binary from its optional
    # dependency and needs no postinstall, and this keeps npm 10 and npm 11 alike.
    if ! npm ci --no-audit --no-fund --ignore-scripts >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "scripts/buf.sh: npm ci failed; buf could not be installed" >&2
        exit 1
    fi
    rm -f "$log"
fi

check() {  # $1 = "first-release" allows a missing baseline (there is nothing to break yet)
    local status=0
    "$BUF" lint || status=1
    if [[ -f $BASELINE ]]; then
        "$BUF" breaking --against "$BASELINE" || status=1
    elif [[ ${1:-} != first-release ]]; then
        echo "scripts/buf.sh: $BASELINE is missing; cut it with 'scripts/buf.sh baseline'" >&2
        status=1
    fi
    return "$status"
}

case "${1:-check}" in
    check)
        if ! check; then
            echo "scripts/buf.sh: buf found problems in protos/ (rules: buf.yaml)" >&2
            exit 1
        fi
        ;;
    baseline)
        if ! check first-release; then
            echo "scripts/buf.sh: not cutting a baseline from a contract that fails the checks" >&2
            exit 1
        fi
        "$BUF" build -o "$BASELINE"
        echo "wrote $BASELINE; commit it with the release tag"
        ;;
    *)
        echo "usage: scripts/buf.sh [check|baseline]" >&2
        exit 2
        ;;
esac

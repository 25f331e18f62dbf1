#!/usr/bin/env bash
# Prints the -ldflags that stamp this checkout's version, commit, build date and tree state into
# a binary (pkg/version). Without git it prints nothing: the binary then reports what Go embeds.
set -euo pipefail
cd "$(dirname "$0")/.."
commit=$(git rev-parse HEAD 2>/dev/null) || exit 0
tree=clean
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	tree=dirty
fi
version=$(git describe --tags --dirty 2>/dev/null) || version="dev.g$(git rev-parse --short=12 HEAD)"
[ "$tree" = dirty ] && [[ "$version" != *-dirty ]] && version="$version-dirty"
pkg=github.com/accountmesh/accountmesh/pkg/version
echo "-X $pkg.version=$version -X $pkg.commit=$commit -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ) -X $pkg.treeState=$tree"

#!/usr/bin/env bash
# Fails when generated code is stale: regenerates it and compares with the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(pkg/apis pkg/generated pkg/client sdk/examples/database/apis hack/api-rule-violations.list)
make codegen >/dev/null
if ! git diff --exit-code --stat -- "${paths[@]}" || [ -n "$(git status --porcelain --untracked-files=all -- "${paths[@]}")" ]; then
	git status --short -- "${paths[@]}" >&2
	echo "generated code is stale: run 'make codegen' and commit the result" >&2
	exit 1
fi

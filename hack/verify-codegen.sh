#!/usr/bin/env bash
# Fails when generated code is stale: regenerates it and compares with the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
make codegen >/dev/null
if ! git diff --exit-code --stat -- pkg/apis pkg/generated sdk/examples/database/apis hack/api-rule-violations.list; then
	echo "generated code is stale: run 'make codegen' and commit the result" >&2
	exit 1
fi

#!/usr/bin/env bash
# Runs the upstream sig-api-machinery and sig-auth e2e tests against one account of a fresh
# Account Mesh (make conformance). Prints a pass/fail table and the totals, writes
# docs/compatibility.md, and fails if a test outside not-applicable.txt fails.
#
# The upstream suite's own start-up (test/e2e.RunE2ETests) checks cluster infrastructure that an
# account does not have (schedulable nodes, running kube-system pods, the cluster IP of the
# kubernetes Service). This module registers the same sig-api-machinery and sig-auth tests with
# ginkgo and runs them with the upstream framework, without that start-up check.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${CONFORMANCE_OUT:-$repo/_output/conformance}
procs=${CONFORMANCE_PROCS:-4}
focus=${CONFORMANCE_FOCUS:-'\[sig-api-machinery\]|\[sig-auth\]'}
mkdir -p "$out"

echo "Building accountmesh and the upstream tests (k8s.io/kubernetes $(grep -o 'k8s.io/kubernetes v[0-9.]*' "$here/go.mod" | cut -d' ' -f2))"
(cd "$repo" && go build -ldflags "$(hack/ldflags.sh)" -o "$out/accountmesh" ./cmd/accountmesh)
(cd "$here" && go test -c -o "$out/conformance.test" .)
(cd "$here" && go build -o "$out/ginkgo" github.com/onsi/ginkgo/v2/ginkgo)
(cd "$here" && go build -o "$out/report" ./report)

root=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$root"
}
trap cleanup EXIT

"$out/accountmesh" start --root-dir "$root" --listen 127.0.0.1:0 >"$out/server.log" 2>&1 &
server_pid=$!
admin=$root/admin.kubeconfig
for _ in $(seq 1 120); do
  if [ -f "$admin" ] && kubectl --kubeconfig "$admin" get --raw /readyz >/dev/null 2>&1; then break; fi
  sleep 1
done
kubectl --kubeconfig "$admin" get --raw /readyz >/dev/null

# The tests run in one account, as a platform admin would use it.
kubectl --kubeconfig "$admin" apply -f - >/dev/null <<YAML
apiVersion: core.accountmesh.io/v1alpha1
kind: Account
metadata: {name: conformance}
YAML
kubectl --kubeconfig "$admin" wait account/conformance --for=jsonpath='{.status.phase}'=Ready --timeout=120s >/dev/null
kubeconfig=$out/account.kubeconfig
sed 's#/clusters/root"*$#/clusters/root:conformance#; s#\(server: .*\)/clusters/root$#\1/clusters/root:conformance#' "$admin" >"$kubeconfig"
kubectl --kubeconfig "$kubeconfig" get namespaces >/dev/null

skip=$("$out/report" -skip-regexp "$here/not-applicable.txt")
echo "Running the tests matching $focus with $procs processes"
set +e
(cd "$out" && "$out/ginkgo" -p --procs "$procs" --timeout 80m --output-interceptor-mode=none --json-report report.json --output-dir "$out" \
  "$out/conformance.test" -- --kubeconfig "$kubeconfig" --ginkgo.focus "$focus" --ginkgo.skip "$skip" \
  --ginkgo.no-color ${CONFORMANCE_EXTRA_ARGS:-} >"$out/ginkgo.log" 2>&1)
set -e
"$out/report" -not-applicable "$here/not-applicable.txt" \
  -compatibility "$repo/docs/compatibility.md" -kubeconfig "$kubeconfig" "$out/report.json"

# Account Mesh build, test and code generation.

GO ?= go
BIN := bin
GOLANGCI_LINT_VERSION ?= v2.15.0

OPENAPI_PACKAGES := \
	k8s.io/apimachinery/pkg/apis/meta/v1 \
	k8s.io/apimachinery/pkg/runtime \
	k8s.io/apimachinery/pkg/version \
	k8s.io/apimachinery/pkg/util/intstr \
	k8s.io/apimachinery/pkg/api/resource \
	k8s.io/api/core/v1 \
	k8s.io/api/rbac/v1 \
	k8s.io/api/coordination/v1 \
	k8s.io/api/events/v1 \
	k8s.io/api/authentication/v1 \
	k8s.io/api/authorization/v1 \
	k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1 \
	github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1 \
	github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1 \
	github.com/accountmesh/accountmesh/pkg/apis/authorization/v1alpha1 \
	github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1

API_PACKAGES := ./pkg/apis/core/v1alpha1 ./pkg/apis/iam/v1alpha1 ./pkg/apis/authorization/v1alpha1 ./pkg/apis/apis/v1alpha1 ./sdk/examples/database/apis/v1

.PHONY: all
all: build

.PHONY: build
build: ## Build bin/accountmesh.
	$(GO) build -o $(BIN)/accountmesh ./cmd/accountmesh
	$(GO) build -o $(BIN)/kubectl-mesh ./cmd/kubectl-mesh

.PHONY: run
run: build ## Start Account Mesh with embedded etcd under .accountmesh/.
	@echo "Starting Account Mesh. In another shell: export KUBECONFIG=$(CURDIR)/.accountmesh/admin.kubeconfig"
	$(BIN)/accountmesh start --root-dir .accountmesh

.PHONY: test
test: ## Run unit, integration and e2e tests.
	$(GO) test -race -count=1 -timeout 20m ./pkg/... ./cmd/... ./sdk/...
	$(GO) test -count=1 -timeout 40m ./test/...

.PHONY: test-short
test-short: ## Run unit tests only.
	$(GO) test -short -count=1 ./pkg/...

.PHONY: bench
bench: ## Run Go benchmarks.
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...

.PHONY: load
load: ## Run the account load benchmark.
	$(GO) run ./test/load --accounts 2000 --objects 10

.PHONY: codegen
codegen: ## Regenerate deepcopy and OpenAPI code.
	$(GO) tool deepcopy-gen --go-header-file hack/boilerplate.go.txt --output-file zz_generated.deepcopy.go $(API_PACKAGES)
	$(GO) tool openapi-gen --go-header-file hack/boilerplate.go.txt \
		--output-dir pkg/generated/openapi --output-pkg github.com/accountmesh/accountmesh/pkg/generated/openapi \
		--output-file zz_generated.openapi.go --output-model-name-file zz_generated.model_name.go \
		--readonly-pkg k8s.io/apimachinery/pkg/apis/meta/v1 --readonly-pkg k8s.io/apimachinery/pkg/runtime \
		--readonly-pkg k8s.io/apimachinery/pkg/version --readonly-pkg k8s.io/apimachinery/pkg/util/intstr \
		--readonly-pkg k8s.io/apimachinery/pkg/api/resource --readonly-pkg k8s.io/api/core/v1 \
		--readonly-pkg k8s.io/api/rbac/v1 --readonly-pkg k8s.io/api/coordination/v1 \
		--readonly-pkg k8s.io/api/events/v1 --readonly-pkg k8s.io/api/authentication/v1 \
		--readonly-pkg k8s.io/api/authorization/v1 \
		--readonly-pkg k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1 \
		--report-filename hack/api-rule-violations.list \
		$(OPENAPI_PACKAGES)

.PHONY: verify
verify: ## Fail when generated code is stale, code is not gofmt'ed or vet fails.
	./hack/verify-codegen.sh
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

.PHONY: lint
lint: ## Run golangci-lint.
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run ./...

.PHONY: help
help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "%-12s %s\n", $$1, $$2}'

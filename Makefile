# Palisade — build, generate, test, demo, deploy.

IMG ?= localhost/palisade:dev
CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.0
LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
KUSTOMIZE ?= $(LOCALBIN)/kustomize
ENVTEST_ASSETS ?= $(LOCALBIN)/envtest
GO_TEST_FLAGS ?= -race -count=1

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

.PHONY: all
all: build

##@ General
.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development
.PHONY: manifests
manifests: controller-gen ## Generate CRDs and RBAC from the markers.
	$(CONTROLLER_GEN) rbac:roleName=palisade-manager crd paths="./..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: controller-gen ## Generate deepcopy code from the markers.
	$(CONTROLLER_GEN) object paths="./api/..."

.PHONY: fmt
fmt: ## go fmt the code.
	go fmt ./...

.PHONY: vet
vet: ## go vet the code.
	go vet ./...

.PHONY: lint
lint: ## Fail on unformatted files and vet warnings.
	@out=$$(gofmt -l api controllers internal test main.go); if [[ -n $$out ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...

.PHONY: verify-gen
verify-gen: controller-gen ## Fail if the generated files did not match the markers (they are regenerated).
	@before=$$(find api config -type f -print0 | sort -z | xargs -0 sha256sum); \
	$(MAKE) -s manifests generate >/dev/null; \
	after=$$(find api config -type f -print0 | sort -z | xargs -0 sha256sum); \
	if [[ "$$before" != "$$after" ]]; then \
	  echo "make manifests generate changed generated files (now regenerated; commit them):"; \
	  diff <(echo "$$before") <(echo "$$after") | grep '^[<>]' | awk '{print "  " $$3}' | sort -u; exit 1; fi

.PHONY: test
test: verify-gen lint envtest ## Run every unit and envtest test with -race.
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) go test $(GO_TEST_FLAGS) ./...

.PHONY: bench
bench: ## Run the benchmarks (figures for the closing notes).
	go test -run '^$$' -bench . -benchmem ./internal/...

##@ Build
.PHONY: build
build: ## Build bin/palisade.
	CGO_ENABLED=0 go build -trimpath -o $(LOCALBIN)/palisade .

.PHONY: run
run: manifests generate ## Run the manager against the current kubeconfig.
	go run . manager

.PHONY: demo
demo: envtest build ## Start a local control plane, run Palisade on sample workloads, print the reports.
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) go run ./hack/demo

.PHONY: docker-build
docker-build: ## Build the container image with Docker (where Docker is available).
	docker build -t $(IMG) .

##@ Deployment
.PHONY: install
install: manifests kustomize ## Install the CRDs into the current cluster.
	$(KUSTOMIZE) build config/crd | kubectl apply --server-side -f -

.PHONY: uninstall
uninstall: kustomize ## Remove the CRDs from the current cluster.
	$(KUSTOMIZE) build config/crd | kubectl delete --ignore-not-found -f -

.PHONY: deploy
deploy: manifests kustomize ## Deploy Palisade with image IMG to the current cluster.
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default | kubectl apply --server-side -f -

.PHONY: undeploy
undeploy: kustomize ## Remove Palisade from the current cluster.
	$(KUSTOMIZE) build config/default | kubectl delete --ignore-not-found -f -

##@ Tools
.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN)
$(CONTROLLER_GEN):
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)

.PHONY: kustomize
kustomize: $(KUSTOMIZE)
$(KUSTOMIZE):
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

.PHONY: envtest
envtest: ## Get kube-apiserver and etcd for envtest (built from the Go module proxy when they cannot be downloaded).
	hack/envtest/get.sh $(ENVTEST_ASSETS)

##@ Local cluster and end-to-end tests (Linux, root; no Docker or registry needed)
# A real single-node cluster (hack/local-cluster: Kubernetes v1.37, containerd
# 2.x, kube-router as the NetworkPolicy enforcer) built from the Go module
# proxy and Debian packages; its state lives in LC_STATE (/var/lib/palisade-lc).
LOCAL_CLUSTER ?= hack/local-cluster/cluster.sh

.PHONY: cluster-up
cluster-up: ## Build (cached in bin/local-cluster) and start the local cluster; then KUBECONFIG=/var/lib/palisade-lc/kubeconfig.
	$(LOCAL_CLUSTER) up

.PHONY: cluster-down
cluster-down: ## Stop the local cluster and remove every process, mount, interface, rule and ipset it created.
	$(LOCAL_CLUSTER) down

.PHONY: image
image: ## Build Palisade's image (IMG) and the kube-bench image without Docker (bin/images), and load them into the local cluster.
	IMG=$(IMG) hack/image/build.sh

.PHONY: e2e
e2e: ## End-to-end tests on a fresh local cluster, torn down afterwards (skipped, with the reason, where it cannot run).
	KUSTOMIZE=$(KUSTOMIZE) hack/local-cluster/e2e.sh

# lagwatch — the whole set-up on a fresh machine is `make demo` and `make test`.
GO        ?= go
GOFLAGS   ?=
# Real-broker packages each start one JVM; two at a time fit 2 cores.
TEST_PARALLEL ?= 2
TEST_TIMEOUT  ?= 25m
# Extra go test flags, e.g. TEST_FLAGS=-v (test-busy uses it to report each package's slowest test).
TEST_FLAGS    ?=

.PHONY: all build demo test test-short test-busy stress-tools deps prometheus-tools kerberos-tools kafka-jars framework-jars lint fuzz bench clean helm-sync page-corpus release image

all: build

# What --version and lagwatch_build_info say. A `go build` or `go install`
# without these ldflags still gets a version (the module's, or a
# pseudo-version of the commit) and, in a git clone, the revision from
# Go's build information.
VERSION    ?= $(shell cat VERSION)
REVISION   ?= $(shell git rev-parse HEAD 2>/dev/null)
BRANCH     ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/prometheus/common/version
LDFLAGS := -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION) \
	-X $(VERSION_PKG).Branch=$(BRANCH) -X $(VERSION_PKG).BuildDate=$(BUILD_DATE)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o lagwatch .

## release: static binaries (CGO off) for each of RELEASE_PLATFORMS, as DIST/lagwatch-VERSION.OS-ARCH.tar.gz (binary, LICENSE, README.md) and DIST/sha256sums.txt
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
DIST ?= dist
release:
	rm -rf $(DIST) && mkdir -p $(DIST)
	for platform in $(RELEASE_PLATFORMS); do \
		os=$${platform%/*}; arch=$${platform#*/}; name=lagwatch-$(VERSION).$$os-$$arch; \
		mkdir -p $(DIST)/$$name && \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(DIST)/$$name/lagwatch . && \
		cp LICENSE README.md $(DIST)/$$name/ && \
		tar -C $(DIST) -czf $(DIST)/$$name.tar.gz $$name && rm -rf $(DIST)/$$name || exit 1; \
	done
	cd $(DIST) && sha256sum *.tar.gz > sha256sums.txt
	@cat $(DIST)/sha256sums.txt

## image: the container image the Helm chart runs, from the Dockerfile (IMAGE=ghcr.io/lagwatch/lagwatch, tagged VERSION)
IMAGE ?= ghcr.io/lagwatch/lagwatch
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --build-arg BRANCH=$(BRANCH) \
		--build-arg BUILD_DATE=$(BUILD_DATE) -t $(IMAGE):$(VERSION) .

## demo: run the exporter against the embedded demo cluster (http://localhost:9308/metrics)
demo:
	@echo "make demo: building lagwatch (the first build takes a minute or two)..."
	$(GO) build -ldflags "$(LDFLAGS)" -o lagwatch .
	./lagwatch demo

## test: install what the tests need, then run every test with the race detector
test: deps lint
	$(GO) test -race -count=1 -p $(TEST_PARALLEL) -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) ./...
	cd deploy/helm/chart_test && $(GO) vet ./... && $(GO) test -count=1 ./...

## test-short: the tests that need no real broker, Prometheus or Alertmanager
test-short:
	$(GO) test -race -short ./...

## test-busy: make test on a deliberately busy machine: a second make test in a fresh clone and stress-ng's CPU and I/O workers run beside it, deadlines stretched by LAGWATCH_TEST_SLOWDOWN (3 unless set); see scripts/test-busy.sh
test-busy: deps stress-tools
	./scripts/test-busy.sh

# stress-ng from Debian's package, for test-busy.
stress-tools:
	@if ! command -v stress-ng >/dev/null; then \
		echo "Installing Debian's stress-ng package"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends stress-ng >/dev/null; \
	fi
	@stress-ng --version 2>&1 | head -1

deps: prometheus-tools kerberos-tools kafka-jars framework-jars

# Prometheus, promtool and Alertmanager from Debian's packages.
prometheus-tools:
	@if ! command -v promtool >/dev/null || ! command -v prometheus-alertmanager >/dev/null; then \
		echo "Installing Debian's prometheus and prometheus-alertmanager packages"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null; \
	fi
	@promtool --version 2>&1 | head -1

# An MIT KDC (krb5kdc, kdb5_util, kadmin.local) from Debian's packages, for
# the SASL/GSSAPI tests in internal/authtest. Only the binaries are used: the
# tests run their own KDC on loopback with a throwaway realm.
kerberos-tools:
	@if ! command -v krb5kdc >/dev/null && [ ! -x /usr/sbin/krb5kdc ]; then \
		echo "Installing Debian's krb5-kdc and krb5-admin-server packages"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends krb5-kdc krb5-admin-server >/dev/null; \
	fi

# The Apache Kafka broker's jars, fetched by Maven from Maven Central and
# cached in ~/.cache/lagwatch (or $$LAGWATCH_KAFKA_HOME).
kafka-jars:
	$(GO) run ./internal/kafkatest/cmd/fetchjars

# Kafka Streams and Kafka Connect jars for the framework corpus
# (internal/frameworks), fetched by Maven, cached beside the broker's.
framework-jars:
	$(GO) run ./internal/frameworks/cmd/fetchframeworkjars

## page-corpus: the framework corpus at default settings through Prometheus and Alertmanager with the shipped rules (about 30 minutes); prints each member's statuses, notifications and time to page
page-corpus: deps
	LAGWATCH_PAGE_CORPUS=full $(GO) test -count=1 -v -timeout 60m -run '^TestFrameworkCorpusPagesOnlyForRealFaults$$' ./internal/frameworks

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...

## fuzz: run every fuzz target for FUZZTIME each
FUZZTIME ?= 30s
fuzz:
	for target in FuzzTrackerOutputsAreFiniteNonNegativeWithOneStatusEach FuzzTrackerHistoryStaysBounded FuzzTrackerCountsEveryRewindOnce; do \
		$(GO) test ./lagcalc -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s || exit 1; \
	done
	$(GO) test . -short -run '^$$' -fuzz '^FuzzFlagParsingNeverPanics$$' -fuzztime $(FUZZTIME)

## helm-sync: copy alerts/*.rules.yml and dashboards/*.json into the Helm chart (Helm reads nothing outside the chart's folder; deploy/helm/chart_test fails while the copies differ)
CHART_FILES := deploy/helm/lagwatch/files
helm-sync:
	rm -rf $(CHART_FILES)/alerts $(CHART_FILES)/dashboards
	mkdir -p $(CHART_FILES)/alerts $(CHART_FILES)/dashboards
	cp alerts/*.rules.yml $(CHART_FILES)/alerts/
	cp dashboards/*.json $(CHART_FILES)/dashboards/

clean:
	rm -rf lagwatch $(DIST)

## bench: scale benchmark against a populated kfake cluster (see bench/run.sh for BENCH_* sizes), then the Go benchmarks of the hot paths
## (-short: the benchmarks need no real broker, so none is started for them)
bench:
	./bench/run.sh
	$(GO) test -short ./exporter ./collector ./lagcalc -run '^$$' -bench '^Benchmark(RenderSnapshot|FillAndEvaluate|Evaluate)$$' -benchmem -benchtime 3x -count 1

# lagwatch — the whole set-up on a fresh machine is `make demo` and `make test`.
GO        ?= go
GOFLAGS   ?=
# Real-broker packages each start one JVM; two at a time fit 2 cores.
TEST_PARALLEL ?= 2
TEST_TIMEOUT  ?= 25m

.PHONY: all build demo test test-short deps prometheus-tools kerberos-tools kafka-jars lint fuzz bench clean helm-sync

all: build

build:
	$(GO) build -o lagwatch .

## demo: run the exporter against the embedded demo cluster (http://localhost:9308/metrics)
demo:
	$(GO) run . demo

## test: install what the tests need, then run every test with the race detector
test: deps lint
	$(GO) test -race -count=1 -p $(TEST_PARALLEL) -timeout $(TEST_TIMEOUT) ./...
	cd deploy/helm/chart_test && $(GO) vet ./... && $(GO) test -count=1 ./...

## test-short: the tests that need no real broker, Prometheus or Alertmanager
test-short:
	$(GO) test -race -short ./...

deps: prometheus-tools kerberos-tools kafka-jars

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
	rm -f lagwatch

## bench: scale benchmark against a populated kfake cluster (see bench/run.sh for BENCH_* sizes), then the Go benchmarks of the hot paths
bench:
	./bench/run.sh
	$(GO) test ./exporter ./collector ./lagcalc -run '^$$' -bench '^Benchmark(RenderSnapshot|FillAndEvaluate|Evaluate)$$' -benchmem -benchtime 3x -count 1

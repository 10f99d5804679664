# hookgate: the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/hookgate/hookgate.Version=$(VERSION)
CONFIG    ?= config.yaml
SDK       := plugins/sdk
PLUGINS   := $(notdir $(wildcard plugins/cloudcx plugins/ucrm plugins/uspacy))
export REDIS_ADDR ?= 127.0.0.1:6379

.PHONY: all build plugins node-plugin run test test-short fuzz bench redis chromium vet fmt proto console console-screenshots docker clean help

all: build

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/[$$][$$]/$$/g' | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: plugins ## build bin/hookgate and the built-in plugins
	@echo "building $(BIN)/hookgate (the server, CLI and console) ..."
	@CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/hookgate ./cmd/hookgate
	@echo "built $(BIN)/hookgate $(VERSION)"

plugins: ## build the built-in plugins into bin/plugins/
	@mkdir -p $(BIN)/plugins
	@echo "building the built-in plugins into $(BIN)/plugins/: $(PLUGINS) (the first build compiles every dependency: a minute or two on 2 cores)"
	@for p in $(PLUGINS); do \
	  echo "  $(BIN)/plugins/$$p"; \
	  CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/plugins/$$p ./plugins/$$p || exit 1; \
	done

chromium: ## make sure a Chromium for the console's browser tests is installed
	@./scripts/ensure-chromium.sh

console: ## the console has no build step: check its JavaScript modules parse (needs node) and run its browser tests
	@if command -v node >/dev/null 2>&1; then for f in console/static/*.js; do node --check $$f || exit 1; done; fi
	@./scripts/ensure-chromium.sh
	HOOKGATE_REQUIRE_BROWSER=1 $(GO) test -count=1 ./console/

console-screenshots: ## rewrite the console screenshots in docs/
	@./scripts/ensure-chromium.sh
	$(GO) test -count=1 ./console/ -args -screenshots

redis: ## make sure a Redis answers at $$REDIS_ADDR (starts a local one if not)
	@./scripts/ensure-redis.sh

run: build redis ## start hookgate in development mode (--dev: http and loopback receivers, 127.0.0.1 only) with $(CONFIG)
	./$(BIN)/hookgate serve --dev --config $(CONFIG)

test: redis chromium plugins node-plugin ## run every test (needs Redis and Chromium; installed/started if missing)
	$(GO) vet ./...
	cd $(SDK) && $(GO) vet ./...
	cd $(SDK) && $(GO) test -count=1 ./...
	HOOKGATE_REQUIRE_BROWSER=1 $(GO) test -count=1 -timeout 15m ./...

test-short: redis ## the fast suite: unit tests; end-to-end, crash, browser, docs and plugin-build tests skip under -short
	cd $(SDK) && $(GO) test -count=1 -short ./...
	$(GO) test -count=1 -short ./...

fuzz: redis ## run every fuzz target for FUZZTIME each (default 30s; FUZZ_ONLY=regexp picks targets)
	./scripts/fuzz.sh

node-plugin: ## install the Node.js example plugin's packages (when npm is present) so its test runs
	@if command -v npm >/dev/null 2>&1; then \
	  [ -d examples/node-plugin/node_modules ] || (cd examples/node-plugin && npm ci --no-audit --no-fund --loglevel=error); \
	else echo "npm not found: the Node.js example plugin's test will be skipped"; fi

bench: build ## the benchmarks: delivery (vs bare asynq), the incoming proxy (vs direct), rate-limit accuracy and scaling (worker processes, Redis Cluster), on Redis with AOF (docs/benchmarks.md)
	./scripts/bench.sh --suite all $(BENCH_ARGS)
	./scripts/bench.sh --suite ratelimit
	./scripts/bench.sh --suite scaling

vet: ## go vet (the gateway and the plugin SDK module)
	$(GO) vet ./...
	cd $(SDK) && $(GO) vet ./...

fmt: ## gofmt every file
	gofmt -w $$(git ls-files '*.go')

proto: ## regenerate the plugin gRPC code
	./plugins/sdk/proto/gen.sh

docker: ## build the container image (needs a Docker engine)
	docker build -t hookgate:$(VERSION) .

clean:
	rm -rf $(BIN)

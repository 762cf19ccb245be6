# Thin wrapper around CMake (like DuckDB's): the two quick-start commands are `make demo` and
# `make test`. Everything a fresh Debian 12 machine needs is installed by `make deps`.
BUILD_DIR      ?= build
FUZZ_BUILD_DIR ?= build-fuzz
BUILD_TYPE     ?= RelWithDebInfo
JOBS           ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS     ?=
FUZZ_SECONDS   ?= 10
SUDO           := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian 12 packages: toolchain, libraries, and the real Mosquitto the tests start.
DEB_PACKAGES := build-essential cmake pkg-config clang-14 libclang-rt-14-dev \
	nlohmann-json3-dev libsqlite3-dev sqlite3 libssl-dev libcurl4-openssl-dev curl \
	libpaho-mqtt-dev libpaho-mqttpp-dev libcpp-httplib-dev catch2 libzstd-dev libsimdjson-dev \
	mosquitto mosquitto-clients ca-certificates dpkg-dev systemd chromium libhnswlib-dev

.PHONY: all deps build fuzz-build test unit integration fault demo bench soak package clean format

all: build

# Installs only what is missing; `apt-get update` runs first whenever something must be installed.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$(echo $$missing | sed 's/^/ /')"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	else echo "make deps: all Debian packages present"; fi

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DAISLE_WERROR=ON \
	  -DAISLE_FUZZ_BUILD_DIR=$(abspath $(FUZZ_BUILD_DIR)) -DAISLE_FUZZ_SECONDS=$(FUZZ_SECONDS)

build: $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

# libFuzzer targets need clang; they live in their own build tree and ctest runs them briefly.
$(FUZZ_BUILD_DIR)/CMakeCache.txt:
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DAISLE_FUZZ=ON -DAISLE_BUILD_TESTS=OFF

fuzz-build: $(FUZZ_BUILD_DIR)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS)

test: deps build fuzz-build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L unit
integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L integration
fault: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L fault

demo: deps build
	$(BUILD_DIR)/bin/aislectl demo --build-dir $(BUILD_DIR)

bench: deps build
	cmake --build $(BUILD_DIR) --target bench -j $(JOBS)

# One hour at a steady rate while agent, broker and collector are SIGKILLed in rotation: every
# accepted event stored exactly once, memory flat (docs/operations.md, "Soak test"). ctest runs a
# 150 s variant (fault:soak-short). SOAK_ARGS overrides, e.g. SOAK_ARGS="--duration 10m".
SOAK_ARGS ?= --duration 1h --rate 200 --kill-every 60s
soak: deps build
	$(BUILD_DIR)/tests/aisle-soak $(SOAK_ARGS)

# Debian packages aisle-common, aisle-agent, aisle-collector in $(BUILD_DIR)/packages
# (docs/operations.md, "Packages").
package: deps build
	cd $(BUILD_DIR) && cpack -G DEB -B $(abspath $(BUILD_DIR))/packages

format:
	find agent collector common firmware_adapters tests bench -name '*.cpp' -o -name '*.hpp' | \
	  xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_BUILD_DIR)

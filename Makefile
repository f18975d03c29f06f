# Entry points: make setup | build | test | run | check   (see README.md)
BUILD ?= build
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc)
RUN_ARGS ?= --config configs/mnist.toml --procs 2

.PHONY: setup build test run sanitize fuzz check clean

setup:
	@scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j 2

# The suite again, built with AddressSanitizer and UndefinedBehaviorSanitizer. LibTorch's
# own allocations are not instrumented; its leaks at exit are not ours to fix, so leak
# detection is off. The benchmark test (Python) is left out.
sanitize: setup
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOGWILD_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j 2 -E bench_quick

# libFuzzer on the IDX parser for FUZZ_SECONDS.
fuzz: setup
	tests/fuzz/run.sh $(FUZZ_SECONDS)

# What CI runs: the fuzzer, the sanitizer build, then the suite (its summary closes the log).
check: fuzz sanitize test

run: build
	$(BUILD)/hogwild_train $(RUN_ARGS)

clean:
	rm -rf $(BUILD) build-asan build-fuzz

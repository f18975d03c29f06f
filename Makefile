# Entry points: make setup | build | test | run   (see README.md)
BUILD ?= build
JOBS ?= $(shell nproc)
RUN_ARGS ?= --config configs/mnist.toml --procs 2

.PHONY: setup build test run clean

setup:
	@scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j 2

run: build
	$(BUILD)/hogwild_train $(RUN_ARGS)

clean:
	rm -rf $(BUILD)

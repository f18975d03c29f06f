# Entry points: make setup | build | test | run | mpirun | check | format   (see README.md)
BUILD ?= build
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc)
RUN_ARGS ?= --config configs/mnist.toml --procs 2
# make mpirun: K ranks on this machine (HOSTFILE: across machines), ARGS for hogwild_train.
K ?= 2
ARGS ?= --config configs/mnist.toml --procs 1
HOSTFILE ?=
MPIRUN_FLAGS ?=
# make mpirun RESTARTS=N: through scripts/resumable.sh, which resumes a failed job from its
# --save-model checkpoint at most N times (README "Long runs").
RESTARTS ?=

.PHONY: setup build test run mpirun sanitize fuzz check clean trainer format

# Recipes run in bash with pipefail, so a failing build is not hidden by the filter below.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# cmake --build run from make prints make's "Entering directory" lines and one "Built target"
# line per target even when nothing changed; keep the compiler's progress, drop those.
QUIET = -- --no-print-directory | { grep -v -e '^\[ *[0-9]*%\] Built target' || true; }

setup:
	@scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) $(QUIET)

# The trainer alone (make run and make mpirun need nothing else): quiet when up to date.
trainer: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target hogwild_train $(QUIET)

test: build
	cd $(BUILD) && ctest --output-on-failure -j 2

# The suite again, built with AddressSanitizer and UndefinedBehaviorSanitizer. LibTorch's
# own allocations are not instrumented; its leaks at exit are not ours to fix, so leak
# detection is off. Left out: the benchmark tests and the README's commands (Makefile.bench
# and make run build in Release), and the jobs that add no code path of ours beyond the
# others but take a minute each under ASan: MPI's (a killed rank, two machines, a worker
# restart inside a rank, checkpoint and resume), two runs side by side, the launcher bringing
# back a killed parent, the scripts around a finished run (plot_run, pytorch_load), and the
# two 15-epoch MNIST runs of test_resume (Ctrl-C and resume, the launcher), and the 80 runs on
# damaged checkpoints (test_checkpoint reads such files under the sanitizers); `make test` runs them.
SANITIZE_EXCLUDE = damaged_checkpoints|bench_quick|step_profile|readme_commands|plot_run|pytorch_load|kill -9 of one rank|two machines|worker dying inside a rank|checkpoints on rank 0|stopped by Ctrl-C after epoch 7|a 2-rank MNIST job|two runs at once|brings back a single machine
sanitize: setup
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOGWILD_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j 2 -E '$(SANITIZE_EXCLUDE)'

# libFuzzer on the IDX parser for FUZZ_SECONDS.
fuzz: setup
	tests/fuzz/run.sh $(FUZZ_SECONDS)

# What CI runs: the fuzzer, the sanitizer build, then the suite (its summary closes the log).
check: fuzz sanitize test

# Rewrite the C++ sources to .clang-format (the format test checks them).
format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

run: trainer
	@$(BUILD)/hogwild_train $(RUN_ARGS)

# OpenMPI refuses root without its two variables; more ranks than cores need --oversubscribe;
# --bind-to none keeps a rank's forked workers from sharing the one core mpirun binds it to.
mpirun: trainer
	OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 $(if $(RESTARTS),scripts/resumable.sh --restarts $(RESTARTS)) \
	  mpirun --oversubscribe --bind-to none \
	  $(if $(HOSTFILE),--hostfile $(HOSTFILE)) $(MPIRUN_FLAGS) -np $(K) $(abspath $(BUILD))/hogwild_train $(ARGS)

clean:
	rm -rf $(BUILD) build-asan build-fuzz

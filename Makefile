# edumon -- the two commands of the README, and the rest.
#   make demo    install deps, build, start Redis + API + worker with the five seed districts
#   make test    install deps, build, run the whole suite (unit, integration, browser, deploy)
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
RELEASE_BUILD ?= build-release
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps test-deps build test test-unit test-integration asan-test tsan-test valgrind-test \
        release-test demo bench bench-quick container-test fuzz lint format clean

all: build

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

test: test-deps build
	@cd $(BUILD) && ctest --output-on-failure -j2

test-unit: build
	@cd $(BUILD) && ctest --output-on-failure -L unit

test-integration: build
	@cd $(BUILD) && ctest --output-on-failure -L integration

# Unit and integration suites under AddressSanitizer + UndefinedBehaviorSanitizer.
asan-test: test-deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DEDUMON_SANITIZE=ON \
	    -DEDUMON_BROWSER_TESTS=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j2 -L 'unit|integration|hostile|fault'

# What runs on several threads (the API's event loops, EDUMON_API_THREADS; the shared rate
# limiter) under ThreadSanitizer: any data race fails the suite.
tsan-test: test-deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DEDUMON_TSAN=ON \
	    -DEDUMON_BROWSER_TESTS=OFF >/dev/null
	@cmake --build $(TSAN_BUILD) -j$(JOBS)
	@cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=0 ctest --output-on-failure -j2 \
	    -R 'unit.test_rate_limit|integration.test_api_threads|integration.threads2'

# The optimised build (-O3, as the container and BUILD=build-release bench/run.sh use it):
# GCC's warnings at -O3 differ from -O2's, and -Werror makes them errors. Unit tests under it.
release-test: test-deps
	@cmake -S . -B $(RELEASE_BUILD) -DCMAKE_BUILD_TYPE=Release -DEDUMON_BROWSER_TESTS=OFF >/dev/null
	@cmake --build $(RELEASE_BUILD) -j$(JOBS)
	@cd $(RELEASE_BUILD) && ctest --output-on-failure -j2 -L unit

# Unit tests and the timing-independent integration suites under valgrind memcheck.
valgrind-test: test-deps build
	@scripts/valgrind-test.sh $(BUILD)

demo: deps
	@scripts/demo.sh

bench: build
	@scripts/install-deps.sh --bench
	@bench/run.sh

bench-quick: build
	@scripts/install-deps.sh --bench
	@bench/run.sh --quick

fuzz:
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-60} bash tests/fuzz/run.sh

container-test:
	@tests/container/run.sh

lint:
	@scripts/install-deps.sh --lint
	@cmake -S . -B $(BUILD) >/dev/null
	@clang-format --dry-run --Werror common/*.[ch] api/*.[ch] worker/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] bench/*.c
	@cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --inline-suppr -I common common api worker
	@clang-tidy -p $(BUILD) --quiet common/*.c api/*.c worker/*.c 2>/dev/null

format:
	@clang-format -i common/*.[ch] api/*.[ch] worker/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] bench/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(RELEASE_BUILD)

# vmie: the two quick-start commands are `make demo` and `make test`.
# Both install missing Debian packages first (scripts/deps.sh).

BUILD ?= build

.PHONY: all deps build demo test test-slow bench fuzz clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) --buildtype=debugoptimized >/dev/null
	@ninja -C $(BUILD)

# Build a small sample disk and run vmie's main job on it.
demo: build
	@scripts/demo.sh $(BUILD)/vmie

# The whole suite: release and ASan+UBSan builds; ends "N passed, N failed".
test: deps
	@scripts/run-tests.sh

# Also the slow suites (real debootstrap guests, big images, fuzz replays).
test-slow: deps
	@VMIE_SLOW=1 scripts/run-tests.sh

bench: build
	@bench/run.sh $(BUILD)/vmie

fuzz: deps
	@CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null 2>&1 || true
	@ninja -C build-fuzz

clean:
	rm -rf build build-asan build-fuzz

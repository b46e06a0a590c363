# vmie: the two quick-start commands are `make demo` and `make test`.
# Both install missing Debian packages first (scripts/deps.sh).

BUILD ?= build

.PHONY: all deps build demo test test-slow bench fuzz fuzz-run clean install uninstall

all: build

deps:
	@scripts/deps.sh

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) --buildtype=debugoptimized >/dev/null
	@ninja -C $(BUILD)

# Install the binary, the policies, the man pages, the docs, the systemd
# unit and the sysusers.d file under PREFIX, staged under DESTDIR when
# given (docs/install.md); uninstall removes them again.
PREFIX ?= /usr/local
DESTDIR ?=

install:
	@scripts/install.sh install $(BUILD) "$(PREFIX)" "$(DESTDIR)"

uninstall:
	@scripts/install.sh uninstall $(BUILD) "$(PREFIX)" "$(DESTDIR)"

# Build a small sample disk and run vmie's main job on it.
demo: build
	@scripts/demo.sh $(BUILD)/vmie

# The whole suite: release and ASan+UBSan builds; always ends with the line
# "N passed, N failed, N skipped" (run-tests.sh counts a failed build too),
# so a failure to install packages is reported and the tests run anyway.
DEPS_OR_WARN = scripts/deps.sh || echo "scripts/deps.sh failed: testing with the packages there are" >&2

test:
	@$(DEPS_OR_WARN)
	@scripts/run-tests.sh

# Also the slow suites (real debootstrap guests, big images, fuzz replays).
test-slow:
	@VMIE_SLOW=1 $(DEPS_OR_WARN)
	@VMIE_SLOW=1 scripts/run-tests.sh

bench: build
	@VMIE_SLOW=1 scripts/deps.sh || echo "scripts/deps.sh failed: the benchmarks that need QEMU or virt-v2v skip" >&2
	@bench/run.sh $(BUILD)/vmie

# libFuzzer targets (clang, ASan+UBSan, -Dfuzz=true) in $(FUZZ_BUILD);
# `make fuzz-run` then runs each for FUZZ_SECONDS on a copy of its corpus
# (tests/fuzz/<area>/corpus-<target> or corpus) under $(FUZZ_OUT), keeping
# crash, timeout and out-of-memory inputs there.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_OUT ?= /tmp/vmie-fuzz
# The resource contract (docs/untrusted-input.md): no input may take more
# than 256 MiB or a few seconds, so fuzzing finds amplifications (an input
# that runs for long or balloons is kept as timeout-*/oom-*), not only
# crashes.
FUZZ_RSS_MB ?= 256
FUZZ_TIMEOUT ?= 5

fuzz: deps
	@if [ ! -f $(FUZZ_BUILD)/build.ninja ]; then \
		CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true \
			--buildtype=debugoptimized -Db_sanitize=address,undefined \
			-Db_lundef=false >$(FUZZ_BUILD).setup.log 2>&1 || \
			{ cat $(FUZZ_BUILD).setup.log; exit 1; }; \
		rm -f $(FUZZ_BUILD).setup.log; \
	fi
	@grep -q '"command": "clang' $(FUZZ_BUILD)/compile_commands.json || \
		{ echo "$(FUZZ_BUILD) was not set up with clang: rm -rf $(FUZZ_BUILD)"; exit 1; }
	@meson configure $(FUZZ_BUILD) -Dfuzz=true >/dev/null
	@ninja -C $(FUZZ_BUILD)
	@n=0; missing=""; for c in tests/fuzz/*/fuzz_*.c; do \
		grep -q LLVMFuzzerTestOneInput "$$c" || continue; \
		t=$(FUZZ_BUILD)/$${c%.c}; \
		if [ -x "$$t" ]; then n=$$((n + 1)); else missing="$$missing $$c"; fi; \
	done; echo "$$n libFuzzer targets in $(FUZZ_BUILD)/tests/fuzz"; \
	[ -z "$$missing" ] || { echo "no libFuzzer binary for:$$missing"; exit 1; }

fuzz-run: fuzz
	@mkdir -p $(FUZZ_OUT); crashed=""; \
	for t in $(FUZZ_BUILD)/tests/fuzz/*/fuzz_*; do \
		case $$t in *_replay|*.p) continue ;; esac; \
		[ -x "$$t" ] || continue; \
		name=$${t##*/fuzz_}; area=$$(basename $$(dirname $$t)); \
		src=tests/fuzz/$$area/corpus-$$(echo $$name | tr _ -); \
		[ -d "$$src" ] || src=tests/fuzz/$$area/corpus; \
		w=$(FUZZ_OUT)/$$name; rm -rf "$$w/corpus"; mkdir -p "$$w"; \
		cp -r "$$src" "$$w/corpus"; \
		echo "fuzz_$$name: $(FUZZ_SECONDS) s on a copy of $$src"; \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
		$$t -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) \
			-rss_limit_mb=$(FUZZ_RSS_MB) -malloc_limit_mb=$(FUZZ_RSS_MB) \
			-print_final_stats=1 \
			-artifact_prefix=$$w/ "$$w/corpus" >"$$w/log" 2>&1; \
		grep -E '^(stat::number_of_executed_units|stat::new_units_added)' "$$w/log" | tr '\n' ' '; echo; \
		if ls $$w/crash-* $$w/leak-* $$w/timeout-* $$w/oom-* >/dev/null 2>&1; then \
			crashed="$$crashed $$name"; \
			grep -E 'ERROR: |SUMMARY: |runtime error' "$$w/log" | head -5; \
			ls $$w/crash-* $$w/leak-* $$w/timeout-* $$w/oom-* 2>/dev/null; \
		fi; \
	done; \
	if [ -n "$$crashed" ]; then echo "crashes in:$$crashed (inputs and logs in $(FUZZ_OUT))"; exit 1; fi; \
	echo "no crash (logs in $(FUZZ_OUT))"

clean:
	rm -rf build build-asan build-fuzz

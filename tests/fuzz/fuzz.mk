# libFuzzer harnesses (tests/fuzz/README section in the main README).
# Included by the main Makefile. Built with clang, apart from the gcc objects:
# the code under test gets coverage instrumentation, the harnesses only ASan
# and UBSan, so the cov numbers libFuzzer prints are those of common/.
#
#   make fuzz               each harness for FUZZ_SECONDS on a copy of its corpus
#   make fuzz-smoke         each harness for 10 s (CI)
#   make fuzz-regress       replays tests/fuzz/regress/<name>/* once each
#   make fuzz FUZZ_TARGETS=req FUZZ_SECONDS=900

FUZZ_CC		?= clang
FUZZ_B		?= build/fuzz
FUZZ_SECONDS	?= 60
FUZZ_TARGETS	?= req resp chunked conf urlpath proxyproto rewrite
FUZZ_DEB	 = clang libclang-rt-14-dev
# -timeout: one input running 10 s is a hang; 431 needs a 16 KiB request head.
FUZZ_FLAGS	?= -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_MAXLEN_req		= 17000
FUZZ_MAXLEN_resp	= 17000
FUZZ_MAXLEN_chunked	= 4096
FUZZ_MAXLEN_conf	= 8192
FUZZ_MAXLEN_urlpath	= 4096
# v2 with TLVs; v1 is at most 107 bytes.
FUZZ_MAXLEN_proxyproto	= 1024
# regex and replacement (< 512 bytes each) and a request target.
FUZZ_MAXLEN_rewrite	= 4096

FUZZ_SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_CFLAGS	 = -std=gnu11 -D_GNU_SOURCE -I. -g -O1 -Wall -Wextra -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wsign-compare \
	-Wformat=2 -Wno-format-nonliteral \
	$(shell pkg-config --cflags libconfig oniguruma openssl 2>/dev/null)
FUZZ_LIBS_conf	 = $(shell pkg-config --libs libconfig oniguruma openssl 2>/dev/null)
FUZZ_LIBS_rewrite = $(shell pkg-config --libs oniguruma 2>/dev/null)

FUZZ_BIN	 = $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz_%)

.PHONY: fuzz fuzz-smoke fuzz-regress fuzz-build fuzz-deps

fuzz-deps:
	$(call install_missing,$(DEB_BUILD) $(FUZZ_DEB))

fuzz-build: fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_BIN)

# Code under test: coverage-guided. Warnings stay warnings: gcc -Werror
# already guards these files, and a clang-only warning must not stop fuzzing.
$(FUZZ_B)/obj/common/%.o: common/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

# Harnesses: sanitizers only, no coverage of their own checks.
$(FUZZ_B)/obj/tests/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror $(FUZZ_SAN) -MMD -MP -c -o $@ $<

$(FUZZ_B)/fuzz_%: $(FUZZ_B)/obj/tests/fuzz/fuzz_%.o
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(FUZZ_LIBS_$*)

# Keep the harness objects: they are not intermediate files to delete.
.SECONDARY: $(FUZZ_TARGETS:%=$(FUZZ_B)/obj/tests/fuzz/fuzz_%.o)

# What each harness links, besides its own file.
$(FUZZ_B)/fuzz_req $(FUZZ_B)/fuzz_resp $(FUZZ_B)/fuzz_chunked: $(FUZZ_B)/obj/common/http1.o
$(FUZZ_B)/fuzz_urlpath: $(FUZZ_B)/obj/common/urlpath.o
$(FUZZ_B)/fuzz_proxyproto: $(FUZZ_B)/obj/common/proxyproto.o
$(FUZZ_B)/fuzz_rewrite: $(FUZZ_B)/obj/common/rewrite.o
# conf_load.c compiles the rewrite rules' regexes with rewrite.c, checks the
# shm name with conf_shm.c, the TLS files with tls_conf.c (OpenSSL, whose
# ticket callback reads tls_tickets.c, which logs) and builds allow/deny
# lists with acl.c.
$(FUZZ_B)/fuzz_conf: \
	$(patsubst %.c,$(FUZZ_B)/obj/%.o,$(wildcard common/conf_load.c common/rewrite.c \
	    common/conf_shm.c common/tls_conf.c common/tls_tickets.c common/log.c \
	    common/acl.c))

-include $(shell find $(FUZZ_B)/obj -name '*.d' 2>/dev/null)

# One harness, as one shell command: $(1) name, $(2) seconds, $(3) work
# directory. Seeds are copied into $(3)/corpus/NAME, where libFuzzer also keeps
# what it finds; a crashing input goes to $(3)/artifacts/NAME/.
fuzz_one = c=$(3)/corpus/$(1); a=$(3)/artifacts/$(1); log=$(3)/fuzz_$(1).log; \
	mkdir -p $$c $$a; cp tests/fuzz/corpus/$(1)/* $$c/; \
	echo "== fuzz_$(1): $(2) s on $$c"; \
	if ! $(FUZZ_B)/fuzz_$(1) $(FUZZ_FLAGS) -max_len=$(FUZZ_MAXLEN_$(1)) \
	    -max_total_time=$(2) -artifact_prefix=$$a/ $$c >$$log 2>&1; then \
		tail -n 60 $$log; echo "fuzz_$(1) FAILED: input saved in $$a/"; exit 1; \
	fi; \
	grep -E "^\#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec" $$log;

fuzz: fuzz-build
	@set -e; $(foreach t,$(FUZZ_TARGETS),$(call fuzz_one,$(t),$(FUZZ_SECONDS),$(FUZZ_B)))

fuzz-smoke: fuzz-build
	@rm -rf $(FUZZ_B)/smoke
	@set -e; $(foreach t,$(FUZZ_TARGETS),$(call fuzz_one,$(t),10,$(FUZZ_B)/smoke))

# Inputs that once crashed: each must now run clean.
fuzz-regress: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		[ -d tests/fuzz/regress/$$t ] || continue; \
		echo "== fuzz_$$t: tests/fuzz/regress/$$t"; \
		$(FUZZ_B)/fuzz_$$t $(FUZZ_FLAGS) tests/fuzz/regress/$$t/*; \
	done

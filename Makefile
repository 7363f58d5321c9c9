# sluice - one GNU Makefile (see README.md). Objects and binaries go to $(B).

B	?= build
CC	?= cc
PKGS	 = libconfig oniguruma openssl libcares
CFLAGS_BASE = -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
	-Wsign-compare -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation -I. -g
# -O3 with link-time optimization: the exchange is split over several files
# (worker/), and LTO inlines across them again (tests/bench/RESULTS.md).
OPT	?= -O3 -flto=auto
CFLAGS	?=
CFLAGS	+= $(CFLAGS_BASE) $(OPT) $(SAN) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS	+= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lev -lm
LDFLAGS	+= $(SAN) $(OPT)

# Debian's python3 (where python3-pytest goes), even if another python3 is first in PATH.
PYTHON	?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)

ASAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

COMMON_SRC = $(sort $(wildcard common/*.c))
SHM_SRC    = $(sort $(filter-out shm/stat_main.c,$(wildcard shm/*.c)))
MASTER_SRC = $(sort $(wildcard master/*.c))
WORKER_SRC = $(sort $(wildcard worker/*.c))
LIB_SRC    = $(COMMON_SRC) $(SHM_SRC) $(filter-out master/main.c,$(MASTER_SRC)) $(WORKER_SRC)
LIB_OBJ    = $(LIB_SRC:%.c=$(B)/obj/%.o)
UNIT_SRC   = $(sort $(wildcard tests/unit/*/test_*.c))
UNIT_BIN   = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TOOLS_SRC  = $(sort $(filter-out %_shim.c,$(wildcard tests/tools/*.c)))
SHIM_SRC   = $(sort $(wildcard tests/tools/*_shim.c))
TOOLS_BIN  = $(TOOLS_SRC:tests/tools/%.c=$(B)/tools/%) \
	$(SHIM_SRC:tests/tools/%_shim.c=$(B)/tools/%.so)

# Debian packages: what building needs, and what testing adds.
DEB_BUILD = gcc make pkg-config libev-dev libconfig-dev libonig-dev libssl-dev libc-ares-dev
DEB_TEST  = libcriterion-dev curl python3 python3-pytest python3-prometheus-client procps openssl sslscan groff-base

PREFIX	?= /usr/local

.PHONY: all install run test unit integration asan-test deps deps-test clean check-deps check-headers

all: $(B)/sluice $(B)/sluice-stat $(TOOLS_BIN)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# The build options `sluice -v` reports.
$(B)/obj/master/main.o: CFLAGS += '-DSLUICE_BUILD_OPT="$(strip $(OPT) $(SAN))"'

$(B)/sluice: $(B)/obj/master/main.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The reader links only shm/ and the parts of common/ it needs: libconfig for
# -c FILE (conf_shm.c reads just the shm setting), no libev, no oniguruma.
STAT_OBJ = $(addprefix $(B)/obj/,shm/stat_main.o shm/stat_print.o shm/shm.o shm/stats.o \
	common/conf_shm.o)

$(B)/sluice-stat: $(STAT_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libconfig 2>/dev/null) -lm

$(B)/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# Preloaded test shims: built without sanitizers, which do not mix with LD_PRELOAD.
$(B)/tools/%.so: tests/tools/%_shim.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -fPIC -shared -o $@ $< -ldl

$(B)/tests/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS) -lcriterion

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# make install [PREFIX=/usr/local] [DESTDIR=...]: the two binaries, the man pages,
# the README, the systemd unit (etc/sluice.service.in with the paths filled in),
# the logrotate rules, the log directory, and /etc/sluice/sluice.conf from
# etc/sluice-installed.conf unless a file is there already. `make uninstall`
# removes those files; the configuration only if it is still the shipped one,
# the sluice directories only if empty (logs are kept).
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
DOCDIR	?= $(PREFIX)/share/doc/sluice
SYSCONFDIR ?= /etc
CONFDIR	 = $(SYSCONFDIR)/sluice
UNITDIR	?= $(SYSCONFDIR)/systemd/system
LOGROTATEDIR = $(SYSCONFDIR)/logrotate.d
# Named in etc/sluice-installed.conf and etc/logrotate.d/sluice.
LOGDIR	 = /var/log/sluice
MAN5	 = docs/man/sluice.conf.5
MAN8	 = docs/man/sluice.8 docs/man/sluice-stat.8
DOCS	 = README.md etc/example-site.conf

.PHONY: uninstall

install: $(B)/sluice $(B)/sluice-stat
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(CONFDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(LOGROTATEDIR) $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) $(DESTDIR)$(LOGDIR)
	install -m 755 $(B)/sluice $(DESTDIR)$(SBINDIR)/sluice
	install -m 755 $(B)/sluice-stat $(DESTDIR)$(BINDIR)/sluice-stat
	install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	install -m 644 etc/logrotate.d/sluice $(DESTDIR)$(LOGROTATEDIR)/sluice
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@CONFDIR@|$(CONFDIR)|g' \
		-e 's|@DOCDIR@|$(DOCDIR)|g' etc/sluice.service.in > $(DESTDIR)$(UNITDIR)/sluice.service
	chmod 644 $(DESTDIR)$(UNITDIR)/sluice.service
	@if [ -e $(DESTDIR)$(CONFDIR)/sluice.conf ]; then \
		echo "keeping $(DESTDIR)$(CONFDIR)/sluice.conf (the default is etc/sluice-installed.conf)"; \
	else \
		echo "install -m 644 etc/sluice-installed.conf $(DESTDIR)$(CONFDIR)/sluice.conf"; \
		install -m 644 etc/sluice-installed.conf $(DESTDIR)$(CONFDIR)/sluice.conf; \
	fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/sluice $(DESTDIR)$(BINDIR)/sluice-stat \
		$(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8))) \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS))) \
		$(DESTDIR)$(LOGROTATEDIR)/sluice $(DESTDIR)$(UNITDIR)/sluice.service
	@if cmp -s etc/sluice-installed.conf $(DESTDIR)$(CONFDIR)/sluice.conf; then \
		echo "rm -f $(DESTDIR)$(CONFDIR)/sluice.conf"; rm -f $(DESTDIR)$(CONFDIR)/sluice.conf; \
	elif [ -e $(DESTDIR)$(CONFDIR)/sluice.conf ]; then \
		echo "keeping $(DESTDIR)$(CONFDIR)/sluice.conf: it differs from etc/sluice-installed.conf"; \
	fi
	@for d in $(DESTDIR)$(DOCDIR) $(DESTDIR)$(CONFDIR) $(DESTDIR)$(LOGDIR); do \
		[ ! -d $$d ] || rmdir $$d 2>/dev/null || echo "keeping $$d: not empty"; \
	done

# Installs only the Debian packages that are missing (needs root and apt-get).
define install_missing
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi
endef

deps:
	$(call install_missing,$(DEB_BUILD))

deps-test:
	$(call install_missing,$(DEB_BUILD) $(DEB_TEST))

# Starts sluice in the foreground in front of two demo backends; Ctrl-C stops all three.
run: deps
	@$(MAKE) --no-print-directory all
	@sh tests/run-demo.sh $(B)/sluice etc/sluice.conf

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t --jobs 1; done

integration: all
	SLUICE_BIN=$(abspath $(B)/sluice) SLUICE_STAT=$(abspath $(B)/sluice-stat) \
		SLUICE_TOOLS=$(abspath $(B)/tools) \
		$(PYTHON) -m pytest -q tests/integration

# The README's test command: installs what is missing, then the include
# rules (check-deps, check-headers), unit and integration tests, the same suite under ASan+UBSan, and a short run of
# every fuzz harness plus the replay of saved fuzz inputs.
test: deps-test
	@$(MAKE) --no-print-directory check-deps check-headers
	@$(MAKE) --no-print-directory unit integration
	@$(MAKE) --no-print-directory asan-test
	@$(MAKE) --no-print-directory fuzz-smoke fuzz-regress

asan-test:
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		SLUICE_SANITIZED=1 $(MAKE) --no-print-directory B=build/asan OPT=-O1 \
		SAN="$(ASAN_FLAGS)" unit integration

# Includes only point down: common <- shm <- {master, worker}; the master
# reaches a worker only through worker_main(); no include cycles (STYLE 2.1).
check-deps:
	@sh tests/tools/check_deps.sh

# Each header compiles alone (STYLE 2.3).
check-headers:
	@set -e; for h in common/*.h shm/*.h master/*.h worker/*.h; do \
		[ -f "$$h" ] || continue; \
		echo "#include \"$$h\"" | $(CC) $(CFLAGS) -x c -fsyntax-only - || \
			{ echo "check-headers: $$h does not compile alone"; exit 1; }; \
	done; echo "check-headers: OK"

clean:
	rm -rf build
-include tests/fuzz/fuzz.mk
-include tests/bench/bench.mk

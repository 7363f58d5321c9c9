# Load benchmark against nginx and HAProxy (README: "Benchmark"). Included by
# the main Makefile.
#
#   make bench                          the full run (about 22 minutes), writes
#                                       tests/bench/RESULTS.md: plain HTTP, then
#                                       the HTTPS part (bench-tls), then the
#                                       pool churn part (bench-pool)
#   make bench-pool                     backend connection churn and max_conns
#                                       cost alone (about 5 minutes): rewrites
#                                       only its section of RESULTS.md
#   make bench-pool BENCH_ROUNDS=1 BENCH_SECONDS=3    the same in about 1.5 minutes
#   make bench-tls                      the HTTPS part alone (about 7 minutes):
#                                       rewrites only its section of RESULTS.md
#   make bench-tls BENCH_ROUNDS=1 BENCH_SECONDS=2 BENCH_TLS_IDLE=300
#   make bench BENCH_ROUNDS=3 BENCH_SECONDS=3
#   make bench BENCH_ARGS='--only sluice,nginx --scenarios small,close --skip static'
#
# Layout: each proxy alone on CPU 0; the origin, wrk and the driver on CPU 1.

BENCH_B		?= $(B)/bench
BENCH_ROUNDS	?= 5
BENCH_SECONDS	?= 5
BENCH_WARMUP	?= 1
BENCH_N		?= 2000
BENCH_IDLE	?= 10000
BENCH_PORT	?= 18080
BENCH_TLS_PORT	?= 18180
BENCH_TLS_IDLE	?= 2000
BENCH_TLS_ARGS	?=
BENCH_OUT	?= tests/bench/RESULTS.md
BENCH_ARGS	?=
BENCH_DEB	 = nginx haproxy wrk valgrind strace util-linux openssl

.PHONY: bench bench-deps bench-regex bench-tls bench-tls-run bench-pool bench-pool-run

# Debian starts the nginx and haproxy services on install (nginx on port 80):
# the benchmark runs its own instances, so a service that this target
# installed is stopped and disabled again. One installed before is left alone.
bench-deps:
	@mkdir -p $(BENCH_B)
	@: > $(BENCH_B)/new-services; for p in nginx haproxy; do \
		dpkg -s $$p >/dev/null 2>&1 || echo $$p >> $(BENCH_B)/new-services; done
	$(call install_missing,$(BENCH_DEB))
	@for s in $$(cat $(BENCH_B)/new-services); do \
		echo "bench: stopping and disabling the $$s service that the package started"; \
		systemctl disable --now $$s >/dev/null 2>&1; service $$s stop >/dev/null 2>&1; \
		update-rc.d $$s disable >/dev/null 2>&1; done; rm -f $(BENCH_B)/new-services

$(BENCH_B)/origin: tests/bench/origin.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O2 -o $@ $<

# The HTTPS client of bench-tls: OpenSSL, as the proxies link it.
$(BENCH_B)/tlsload: tests/bench/tlsload.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O2 -o $@ $< -lssl -lcrypto

bench: bench-deps
	@$(MAKE) --no-print-directory all $(BENCH_B)/origin $(BENCH_B)/tlsload
	taskset -c 1 $(PYTHON) tests/bench/run.py --sluice $(B)/sluice \
		--origin $(BENCH_B)/origin --work $(BENCH_B)/run --out $(BENCH_OUT) \
		--rounds $(BENCH_ROUNDS) --seconds $(BENCH_SECONDS) --warmup $(BENCH_WARMUP) \
		--n $(BENCH_N) --idle $(BENCH_IDLE) --port $(BENCH_PORT) $(BENCH_ARGS)
	@$(MAKE) --no-print-directory bench-tls-run
	@$(MAKE) --no-print-directory bench-pool-run

# HTTPS: full and resumed handshakes, keep-alive requests, idle TLS memory.
bench-tls: bench-deps
	@$(MAKE) --no-print-directory all $(BENCH_B)/origin $(BENCH_B)/tlsload
	@$(MAKE) --no-print-directory bench-tls-run

bench-tls-run:
	taskset -c 1 $(PYTHON) tests/bench/run.py --tls --sluice $(B)/sluice \
		--origin $(BENCH_B)/origin --tlsload $(BENCH_B)/tlsload \
		--work $(BENCH_B)/run-tls --out $(BENCH_OUT) \
		--rounds $(BENCH_ROUNDS) --seconds $(BENCH_SECONDS) --warmup $(BENCH_WARMUP) \
		--idle $(BENCH_TLS_IDLE) --port $(BENCH_TLS_PORT) $(BENCH_TLS_ARGS)

# Worst case of a regex that hits oniguruma's retry limit, per request.
bench-regex: all $(BENCH_B)/origin
	$(PYTHON) tests/bench/regex_worst.py --sluice $(B)/sluice --origin $(BENCH_B)/origin

# What a route's allow/deny lists cost (issue 15): instructions per request
# under callgrind without lists and with 10,000 allow + 300 deny networks,
# and `sluice -t` time on that config. Rewrites only its section of
# RESULTS.md (about 15 s). BENCH_ACL_PORT (18280), BENCH_ACL_ARGS.
BENCH_ACL_PORT	?= 18280
BENCH_ACL_ARGS	?=
.PHONY: bench-acl
bench-acl: all $(BENCH_B)/origin
	$(call install_missing,valgrind util-linux)
	taskset -c 1 $(PYTHON) tests/bench/acl_cost.py --sluice $(B)/sluice \
		--origin $(BENCH_B)/origin --work $(BENCH_B)/run-acl --out $(BENCH_OUT) \
		--n $(BENCH_N) --port $(BENCH_ACL_PORT) $(BENCH_ACL_ARGS)

# Backend connections opened per 1,000 requests at 50 and 400 keep-alive
# clients (issue 14): sluice's default pool (reuse_max "auto"), reuse_max = 16,
# nginx keepalive 16 and 512, HAProxy (http-reuse safe and always), one
# worker each, two origin processes; then instructions per request under
# callgrind with max_conns = 100000 (set, never reached) and without.
# Rewrites only its section of RESULTS.md; `make bench` runs it last.
# BENCH_POOL_ROUNDS (3, or BENCH_ROUNDS when given), BENCH_SECONDS,
# BENCH_WARMUP, BENCH_N, BENCH_POOL_PORT (18380), BENCH_POOL_ARGS
# (e.g. --only sluice,nginx-16 --skip queue).
BENCH_POOL_PORT	?= 18380
BENCH_POOL_ROUNDS ?= $(if $(filter command line environment,$(origin BENCH_ROUNDS)),$(BENCH_ROUNDS),3)
BENCH_POOL_ARGS	?=
bench-pool: bench-deps
	@$(MAKE) --no-print-directory all $(BENCH_B)/origin
	@$(MAKE) --no-print-directory bench-pool-run

bench-pool-run:
	taskset -c 1 timeout 1800 $(PYTHON) tests/bench/pool_churn.py --sluice $(B)/sluice \
		--origin $(BENCH_B)/origin --work $(BENCH_B)/run-pool --out $(BENCH_OUT) \
		--rounds $(BENCH_POOL_ROUNDS) --seconds $(BENCH_SECONDS) --warmup $(BENCH_WARMUP) \
		--n $(BENCH_N) --port $(BENCH_POOL_PORT) $(BENCH_POOL_ARGS)

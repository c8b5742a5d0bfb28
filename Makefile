# faultline build.
#
#   make                 build the library and the binaries (development
#                        warnings, -Werror)
#   make SANITIZE=address,undefined
#                        the same, with sanitizers, into build-san/
#   make test            set up the machine (once), check the sources (lint),
#                        run the unit tests under the sanitizers, then the
#                        integration tests against a real kube-apiserver,
#                        etcd, kubectl, helm and moto
#   make unit            unit tests only (in the current build mode)
#   make lint            clang-format in check mode and our source checks
#   make fuzz            run the parser fuzz target for a bounded time
#   make setup           install packages and build the test environment
#   make demo            (root) start a local control plane, a simulated
#                        node and the operator, run
#                        deploy/examples/quickstart.yaml against a small
#                        app, show the progress, verdict and report, and
#                        clean everything up (the experiment runs for
#                        2 minutes; the rest takes well under one)
#   make bench           list, store and watch 10,000 pods; 1,000 dry-run
#                        experiments through the operator; what the
#                        sidecar costs holding each fault, and its revert
#                        latency (root); a pod fault from kubectl apply to
#                        in force in the pod, and from abort or kill
#                        switch to gone (root); print figures
#   make sidecar-static  link build/faultline-sidecar-static (-static) and
#                        print its stripped size

CC      ?= gcc
PKGS    := yaml-0.1 json-c libcrypto libcurl libxml-2.0 libwebsockets
# The injector links only what it needs: netlink, nftables, NFQUEUE.
SIDECAR_PKGS := libmnl libnftnl libnetfilter_queue
WARN    := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wshadow -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -D_GNU_SOURCE $(WARN) -Ilib -I$(B)/gen \
           $(shell pkg-config --cflags $(PKGS))
LDLIBS  := $(shell pkg-config --libs $(PKGS)) -lm -pthread

ifeq ($(SANITIZE),)
B := build
else
B := build-san
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
           -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

LIB_SRC  := $(wildcard lib/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o) $(B)/gen/crd_schema.o
LIB      := $(B)/libfaultline.a
CLI      := $(B)/kubectl-faultline
CLI_SRC  := $(wildcard cli/*.c)
SIDECAR  := $(B)/faultline-sidecar
# sidecar/mnl_static.c stands in for libmnl in the static binary only;
# everything else links the system's libmnl.
SIDECAR_SRC := $(filter-out sidecar/mnl_static.c,$(wildcard sidecar/*.c))
SIDECAR_OBJ := $(SIDECAR_SRC:%.c=$(B)/%.o)
OPERATOR := $(B)/faultline-operator
OPERATOR_SRC := $(wildcard operator/*.c)
OPERATOR_OBJ := $(OPERATOR_SRC:%.c=$(B)/%.o)
# Test drivers: small C programs that integration tests run against real
# parts (the API server, network namespaces).
DRIVER_SRC := $(wildcard tests/drivers/*.c)
DRIVERS  := $(DRIVER_SRC:tests/drivers/%.c=$(B)/tests/drivers/%)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

SETUP    = $(shell scripts/setup.sh)

.PHONY: all test unit integration lint fuzz setup clean demo bench \
	sidecar-static
all: $(LIB) $(CLI) $(DRIVERS)
all: $(SIDECAR) $(OPERATOR)

$(B)/%.o: %.c $(wildcard lib/*.h operator/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -c -o $@ $<

# The CRD is the one schema: embed its text so that the library validates
# with exactly what the API server enforces.
$(B)/gen/crd_schema.c: crds/chaosexperiments.faultline.dev.yaml
	@mkdir -p $(@D)
	scripts/embed.sh fl_crd_yaml $< > $@.tmp && mv $@.tmp $@

$(B)/gen/crd_schema.o: $(B)/gen/crd_schema.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(CLI): $(CLI_SRC:%.c=$(B)/%.o) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(OPERATOR): $(OPERATOR_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(SIDECAR_OBJ) $(B)/sidecar/mnl_static.o: \
	CFLAGS += $(shell pkg-config --cflags $(SIDECAR_PKGS))

$(SIDECAR): $(SIDECAR_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) \
		$(shell pkg-config --libs $(SIDECAR_PKGS))

# The injector as one static binary, for an image FROM scratch.  It uses
# libnetfilter_queue's libmnl-based API only, so libnfnetlink is not
# needed.  Debian ships no libmnl.a (and our mirror has no sources to
# build one), so sidecar/mnl_static.c implements the part of libmnl that
# this link needs, and it is linked here only: the dynamic build keeps
# the system's libmnl.  The agent channel brings libwebsockets and
# OpenSSL (libssl, libcrypto) with their own dependencies (zlib, libcap);
# the binary then needs /dev/urandom at run time, nothing else.
SIDECAR_STATIC := $(B)/faultline-sidecar-static
sidecar-static: $(SIDECAR_STATIC)
	@strip -o $(SIDECAR_STATIC).stripped $(SIDECAR_STATIC)
	@echo "$(SIDECAR_STATIC): $$(stat -c %s $(SIDECAR_STATIC).stripped)" \
		"bytes stripped"

$(SIDECAR_STATIC): $(SIDECAR_OBJ) $(B)/sidecar/mnl_static.o $(LIB)
	$(CC) -static $(LDFLAGS) -o $@ $^ \
		-lnetfilter_queue -lnftnl -ljson-c -lyaml -lwebsockets -lssl \
		-lcrypto -lz -lcap -ldl -lm -pthread

$(B)/tests/drivers/%: tests/drivers/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# The agent channel's driver runs the operator's server module.
$(B)/tests/drivers/agent_server_driver: tests/drivers/agent_server_driver.c \
		$(B)/operator/agent_server.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Ioperator $(LDFLAGS) -o $@ $< \
		$(B)/operator/agent_server.o $(LIB) $(LDLIBS)

# Sidecar unit tests also link the sidecar's objects, all but main.o (make
# prefers this rule to the one below: its stem is shorter).
SIDECAR_TEST_OBJ := $(filter-out $(B)/sidecar/main.o,$(SIDECAR_OBJ))
$(B)/tests/test_sidecar_%: tests/unit/test_sidecar_%.c $(SIDECAR_TEST_OBJ) \
		$(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Isidecar $(LDFLAGS) -o $@ $< $(SIDECAR_TEST_OBJ) \
		$(LIB) $(LDLIBS) $(shell pkg-config --libs $(SIDECAR_PKGS)) \
		-lcmocka

# Operator unit tests (test_op_*) link the operator's objects but main.o.
OPERATOR_TEST_OBJ := $(filter-out $(B)/operator/main.o,$(OPERATOR_OBJ))
$(B)/tests/test_op_%: tests/unit/test_op_%.c $(OPERATOR_TEST_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Ioperator $(LDFLAGS) -o $@ $< $(OPERATOR_TEST_OBJ) \
		$(LIB) $(LDLIBS) -lcmocka

# CLI unit tests (test_cli_*) link the CLI's objects but main.o.
CLI_TEST_OBJ := $(filter-out $(B)/cli/main.o,$(CLI_SRC:%.c=$(B)/%.o))
$(B)/tests/test_cli_%: tests/unit/test_cli_%.c $(CLI_TEST_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Icli $(LDFLAGS) -o $@ $< $(CLI_TEST_OBJ) \
		$(LIB) $(LDLIBS) -lcmocka

$(B)/tests/test_%: tests/unit/test_%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcmocka

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do \
		echo "== $$t"; \
		FL_REPO=$(CURDIR) FL_TESTDATA=$(CURDIR)/tests/data $$t; \
	done

setup:
	@scripts/setup.sh >/dev/null

# Unit tests always run under the sanitizers; the integration tests use
# the development build.
test: setup lint
	$(MAKE) SANITIZE=address,undefined unit
	$(MAKE) all
	$(MAKE) sidecar-static
	@. "$$(scripts/setup.sh)" && \
		"$$FAULTLINE_VENV/bin/pytest" -q tests/integration

lint:
	scripts/lint.sh

# Set up and build as `test` does (setup first: the build's flags come
# from the packages it installs), then run tests/demo/demo.py.  Root is
# checked first, before minutes of setting up.
demo:
	@[ "$$(id -u)" = 0 ] || { echo "make demo: needs root: the node" \
		"simulator makes network namespaces, veth links, nftables" \
		"rules and cgroups (try: sudo make demo)" >&2; exit 1; }
	@$(MAKE) --no-print-directory setup
	@$(MAKE) --no-print-directory all
	@. "$$(scripts/setup.sh)" && \
		"$$FAULTLINE_VENV/bin/python" tests/demo/demo.py

# Benchmarks print figures and never fail on a time.
bench: all
	scripts/bench-kube.sh
	@. "$$(scripts/setup.sh)" && cd tests/bench && \
		"$$FAULTLINE_VENV/bin/python" bench_operator.py && \
		"$$FAULTLINE_VENV/bin/python" bench_sidecar_resources.py && \
		"$$FAULTLINE_VENV/bin/python" bench_sidecar_network.py && \
		"$$FAULTLINE_VENV/bin/python" bench_injection.py

FUZZ_SECONDS ?= 60
fuzz: $(B)/gen/crd_schema.c
	@mkdir -p $(B)/fuzz
	clang -g -O1 -std=gnu11 -D_GNU_SOURCE -Ilib \
		-fsanitize=fuzzer,address,undefined \
		$(shell pkg-config --cflags $(PKGS)) -o $(B)/fuzz/fuzz_parser \
		fuzz/fuzz_parser.c $(LIB_SRC) $(B)/gen/crd_schema.c $(LDLIBS)
	@mkdir -p $(B)/fuzz/corpus
	cp -n deploy/examples/*.yaml $(B)/fuzz/corpus/ 2>/dev/null || true
	$(B)/fuzz/fuzz_parser -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 \
		-max_len=65536 $(B)/fuzz/corpus

clean:
	rm -rf build build-san

-include $(shell find $(B) -name '*.d' 2>/dev/null)

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

CC      ?= gcc
PKGS    := yaml-0.1 json-c libcrypto
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
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

SETUP    = $(shell scripts/setup.sh)

.PHONY: all test unit integration lint fuzz setup clean demo bench
all: $(LIB) $(CLI)

$(B)/%.o: %.c $(wildcard lib/*.h)
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
	@. "$$(scripts/setup.sh)" && \
		"$$FAULTLINE_VENV/bin/pytest" -q tests/integration

lint:
	scripts/lint.sh

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

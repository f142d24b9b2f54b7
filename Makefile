# Switchyard build.  `make` builds build/switchyard; `make test` installs what
# is missing, builds, and runs every test; `make run` starts the example.
#
# BUILD selects the output folder, so a sanitizer build lives beside the
# normal one:  make BUILD=build-asan SAN=1 test

BUILD    ?= build
CC       ?= cc
SAN      ?=
OPT      ?= -O2
LLHTTP_SRC ?= /usr/share/llhttp
LLHTTP_INC ?= /usr/share/include/llhttp

CFLAGS   := -std=gnu11 $(OPT) -g -Wall -Wextra -Wshadow -Wno-unused-parameter \
            -Wformat=2 -Wvla -fno-strict-aliasing -D_GNU_SOURCE \
            -Isrc -I$(LLHTTP_INC) $(EXTRA_CFLAGS)
LDLIBS   := -lyaml -ljansson -lpcre2-8 -lxxhash -lnghttp2 -lcurl -lssl -lcrypto -lpthread -lm
ifeq ($(SAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

LIB_SRCS  := $(shell find src -name '*.c' ! -name main.c | sort)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LLHTTP_OBJS := $(BUILD)/obj/llhttp/llhttp.o $(BUILD)/obj/llhttp/api.o $(BUILD)/obj/llhttp/http.o
# The dashboard's files, embedded as a generated C file (scripts/embed-ui.sh).
UI_FILES  := $(sort $(wildcard ui/*))
UI_OBJ    := $(BUILD)/obj/gen/ui_assets.o
COMMIT_OBJ := $(BUILD)/obj/gen/commit.o
UNIT_SRCS := $(shell find tests/unit -name 'test_*.c' | sort)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: FORCE all deps test install install-files uninstall format unit integration run clean asan fuzz bench stress check-config config-doc

all: $(BUILD)/switchyard

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# llhttp is compiled from the sources Debian's node-llhttp installs; it is
# generated code, so our warning set does not apply to it.  Its strict mode
# is a compile-time switch: without it a bare CR can end a header line.
$(BUILD)/obj/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(OPT) -g -DLLHTTP_STRICT_MODE=1 $(filter -fsanitize% -fno-%,$(CFLAGS)) -I$(LLHTTP_INC) -c $< -o $@

$(BUILD)/gen/ui_assets.c: $(UI_FILES) scripts/embed-ui.sh
	@mkdir -p $(dir $@)
	./scripts/embed-ui.sh $@ $(UI_FILES)

$(UI_OBJ): $(BUILD)/gen/ui_assets.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The commit `switchyard version` names, rewritten only when it changes
# (so a build with nothing new relinks nothing).
COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
$(BUILD)/gen/commit.c: FORCE
	@mkdir -p $(dir $@)
	@echo 'const char sy_build_commit[] = "$(COMMIT)";' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@
	@rm -f $@.tmp

$(COMMIT_OBJ): $(BUILD)/gen/commit.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

FORCE:

$(BUILD)/libswitchyard.a: $(LIB_OBJS) $(UI_OBJ) $(COMMIT_OBJ) $(LLHTTP_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/switchyard: $(BUILD)/obj/src/main.o $(BUILD)/libswitchyard.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libswitchyard.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< $(BUILD)/libswitchyard.a $(LDLIBS) -lcmocka

# The house style (.clang-format); tests/integration/test_style.py checks it.
format:
	clang-format -i $$(find src tests/unit fuzz -name '*.[ch]')

# Install (PREFIX, DESTDIR as usual).  `install` builds first;
# `install-files` only copies INSTALL_BIN (the suite installs a given binary
# into a scratch DESTDIR that way).  The configuration is not overwritten
# when one is already there.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
BINDIR     ?= $(PREFIX)/bin
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DOCDIR     ?= $(PREFIX)/share/doc/switchyard
INSTALL_BIN ?= $(BUILD)/switchyard

install: all install-files

install-files:
	@test -x $(INSTALL_BIN) || { echo "install: $(INSTALL_BIN) not built (run make)" >&2; exit 1; }
	install -D -m 0755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/switchyard
	test -e $(DESTDIR)$(SYSCONFDIR)/switchyard/switchyard.yaml || \
	    install -D -m 0644 contrib/switchyard.yaml $(DESTDIR)$(SYSCONFDIR)/switchyard/switchyard.yaml
	install -D -m 0644 contrib/switchyard.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/switchyard
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
	    contrib/switchyard.service.in > $(DESTDIR)$(UNITDIR)/switchyard.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/switchyard.service
	install -m 0644 README.md doc/*.md $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/switchyard $(DESTDIR)$(UNITDIR)/switchyard.service \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d/switchyard
	rm -rf $(DESTDIR)$(DOCDIR)
	@echo "uninstall: $(DESTDIR)$(SYSCONFDIR)/switchyard and /var/lib/switchyard are left in place"

deps:
	@./scripts/deps.sh

unit: $(UNIT_BINS)
	@./scripts/run-unit.sh $(UNIT_BINS)

integration: $(BUILD)/switchyard
	SWITCHYARD_BIN=$(abspath $(BUILD)/switchyard) /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration tests/hostile

test: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) integration

asan: deps
	$(MAKE) BUILD=build-asan SAN=1 OPT=-O1 all
	$(MAKE) BUILD=build-asan SAN=1 OPT=-O1 unit
	$(MAKE) BUILD=build-asan SAN=1 OPT=-O1 integration

run: deps
	$(MAKE) all
	./scripts/run-example.sh

fuzz:
	./fuzz/build.sh

bench: deps
	$(MAKE) all
	./bench/run.sh

# Attacks and load on loopback (slowloris, slow readers, fd flood, reload
# storm, kill -9 during admin writes, soak): a report in bench/STRESS.md,
# not a pass/fail test; about 3 minutes, bounded by `timeout`.
stress: deps
	$(MAKE) all
	timeout -k 15 900 /usr/bin/python3 bench/stress.py

# doc/config.md's Gateway key reference is generated from the key table
# (src/config/gateway_keys.c); the suite fails when the two differ.
config-doc: all
	./scripts/config-doc.sh $(BUILD)/switchyard doc/config.md

check-config: all
	$(BUILD)/switchyard -t -c examples/quickstart.yaml

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

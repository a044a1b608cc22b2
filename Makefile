# rdv kit: RDV server, onsite and master device software.
# Paths follow the GNU conventions and can all be overridden (DESTDIR too).
PREFIX     ?= /usr
SBINDIR    ?= $(PREFIX)/sbin
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
SYSCONFDIR ?= /etc
UNITDIR    ?= /lib/systemd/system
DBUSPOLICYDIR ?= $(DATADIR)/dbus-1/system.d

CC         ?= cc
PKG_CONFIG ?= pkg-config
BUILD      ?= build
WERROR     ?= 1
CFLAGS     ?= -O2 -g
SAN        ?=

PKGS := dbus-1 libnl-3.0 libnl-route-3.0 libconfig libnftables libsystemd
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
ifeq ($(WERROR),1)
WARN += -Werror
endif
ifneq ($(SAN),)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) $(SANFLAGS) -Ishared -Irdv-server -Ionsite-dev -Imaster-dev $(PKG_CFLAGS) \
	-D_FORTIFY_SOURCE=2 -fstack-protector-strong -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

SHARED_SRC := shared/log.c shared/net.c shared/loop.c shared/dbusloop.c shared/util.c \
	shared/child.c shared/nl.c shared/confspec.c shared/rdvlink.c \
	shared/vtunparams.c shared/devtunnel.c
RDVD_SRC := rdv-server/rdvd.c rdv-server/conf.c rdv-server/pool.c rdv-server/registry.c \
	rdv-server/acl.c rdv-server/session.c rdv-server/vtund.c rdv-server/glue.c \
	rdv-server/nft.c rdv-server/bus.c
SHELL_SRC := rdv-server/rdv-shell.c rdv-server/shell-parse.c rdv-server/shell-cmds.c
RDVCTL_SRC := rdv-server/rdvctl.c rdv-server/rdvctl-account.c rdv-server/conf.c

ONSITE_SRC := onsite-dev/onsitedev.c onsite-dev/onsite-conf.c
MASTERD_SRC := master-dev/masterd.c master-dev/master-session.c master-dev/master-conf.c
MASTERDEV_SRC := master-dev/masterdev.c

PROGS := $(BUILD)/rdvd $(BUILD)/rdv-shell $(BUILD)/rdvctl $(BUILD)/onsitedev \
	$(BUILD)/masterd $(BUILD)/masterdev
UNIT_TESTS := $(BUILD)/test-pool $(BUILD)/test-net $(BUILD)/test-shell-parse $(BUILD)/test-conf \
	$(BUILD)/test-acl

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

all: $(PROGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libshared.a: $(call obj,$(SHARED_SRC))
	$(Q)$(AR) rcs $@ $^

$(BUILD)/rdvd: $(call obj,$(RDVD_SRC)) $(BUILD)/libshared.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/rdv-shell: $(call obj,$(SHELL_SRC)) $(BUILD)/libshared.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/rdvctl: $(call obj,$(RDVCTL_SRC)) $(BUILD)/libshared.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/onsitedev: $(call obj,$(ONSITE_SRC)) $(BUILD)/libshared.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/masterd: $(call obj,$(MASTERD_SRC)) $(BUILD)/libshared.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/masterdev: $(call obj,$(MASTERDEV_SRC)) $(BUILD)/libshared.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/test-pool: $(call obj,tests/unit/test-pool.c rdv-server/pool.c) $(BUILD)/libshared.a
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/test-net: $(call obj,tests/unit/test-net.c) $(BUILD)/libshared.a
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/test-shell-parse: $(call obj,tests/unit/test-shell-parse.c rdv-server/shell-parse.c) $(BUILD)/libshared.a
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/test-conf: $(call obj,tests/unit/test-conf.c rdv-server/conf.c) $(BUILD)/libshared.a
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/test-acl: $(call obj,tests/unit/test-acl.c rdv-server/acl.c rdv-server/conf.c) $(BUILD)/libshared.a
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

unit-tests: $(UNIT_TESTS)

# Fuzzers need clang's libFuzzer; built in their own tree.
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Ishared -Irdv-server $(PKG_CFLAGS)
$(BUILD)/fuzz-shell-parse: tests/fuzz/fuzz-shell-parse.c rdv-server/shell-parse.c shared/net.c shared/util.c
	@mkdir -p $(BUILD)
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $^
$(BUILD)/fuzz-conf: tests/fuzz/fuzz-conf.c rdv-server/conf.c shared/confspec.c shared/net.c shared/util.c shared/log.c
	@mkdir -p $(BUILD)
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/fuzz-vtun-params: tests/fuzz/fuzz-vtun-params.c shared/vtunparams.c shared/net.c shared/util.c
	@mkdir -p $(BUILD)
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $^
fuzzers: $(BUILD)/fuzz-shell-parse $(BUILD)/fuzz-conf $(BUILD)/fuzz-vtun-params

# Installs what it needs, builds, runs every test; last line "N passed, N failed".
check:
	$(Q)tests/run-all.sh

demo:
	$(Q)tests/demo.sh

# Root: the data path against OpenVPN and bare vtun, in namespaces; writes
# bench/REPORT.md and bench/throughput.svg (tests/bench/bench.sh, docs/bench.md).
bench:
	$(Q)tests/deps.sh
	$(Q)$(MAKE) --no-print-directory all
	$(Q)env REPO=$(CURDIR) BUILD=$(abspath $(BUILD)) tests/bench/bench.sh

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSCONFDIR)/rdv $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(DBUSPOLICYDIR) $(DESTDIR)$(SYSCONFDIR)/ssh/sshd_config.d \
		$(DESTDIR)$(SYSCONFDIR)/stunnel $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DATADIR)/rdv
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(filter-out $(BUILD)/masterdev,$(PROGS)) $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(BUILD)/masterdev $(DESTDIR)$(BINDIR)/
	install -m 0755 rdv-server/conf/rdv-gen-cert $(DESTDIR)$(DATADIR)/rdv/
	install -m 0644 rdv-server/conf/rdvd.conf $(DESTDIR)$(SYSCONFDIR)/rdv/rdvd.conf
	install -m 0644 rdv-server/conf/sshd-rdv.conf $(DESTDIR)$(SYSCONFDIR)/ssh/sshd_config.d/rdv.conf
	install -m 0644 rdv-server/conf/stunnel-rdv.conf $(DESTDIR)$(SYSCONFDIR)/stunnel/rdv.conf
	install -m 0644 rdv-server/conf/logrotate-rdvd $(DESTDIR)$(SYSCONFDIR)/logrotate.d/rdvd
	install -m 0644 systemd/rdvd.service systemd/onsitedev.service systemd/masterd.service \
		$(DESTDIR)$(UNITDIR)/
	install -m 0644 onsite-dev/conf/onsite.conf master-dev/conf/master.conf $(DESTDIR)$(SYSCONFDIR)/rdv/
	install -m 0644 systemd/org.rdvkit.Master.conf $(DESTDIR)$(DBUSPOLICYDIR)/
	install -m 0644 systemd/org.rdvkit.Broker.conf $(DESTDIR)$(DBUSPOLICYDIR)/
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 0644 docs/rdvd.8 docs/rdvctl.8 docs/rdv-shell.8 docs/onsitedev.8 docs/masterd.8 \
		$(DESTDIR)$(MANDIR)/man8/
	install -m 0644 docs/masterdev.1 $(DESTDIR)$(MANDIR)/man1/

clean:
	rm -rf $(BUILD)

.PHONY: all check demo bench install clean unit-tests fuzzers

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

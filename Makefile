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
	shared/vtunparams.c shared/devtunnel.c shared/nftab.c shared/splicer.c \
	shared/datalink.c
RDVD_SRC := rdv-server/rdvd.c rdv-server/conf.c rdv-server/pool.c rdv-server/registry.c \
	rdv-server/acl.c rdv-server/session.c rdv-server/vtund.c rdv-server/glue.c \
	rdv-server/nft.c rdv-server/bus.c rdv-server/limits.c rdv-server/relay.c \
	rdv-server/status.c
SHELL_SRC := rdv-server/rdv-shell.c rdv-server/shell-parse.c rdv-server/shell-cmds.c
RDVCTL_SRC := rdv-server/rdvctl.c rdv-server/rdvctl-account.c rdv-server/conf.c

ONSITE_SRC := onsite-dev/onsitedev.c onsite-dev/onsite-conf.c
MASTERD_SRC := master-dev/masterd.c master-dev/master-session.c master-dev/master-conf.c
MASTERDEV_SRC := master-dev/masterdev.c

PROGS := $(BUILD)/rdvd $(BUILD)/rdv-shell $(BUILD)/rdvctl $(BUILD)/onsitedev \
	$(BUILD)/masterd $(BUILD)/masterdev
UNIT_TESTS := $(BUILD)/test-pool $(BUILD)/test-net $(BUILD)/test-shell-parse $(BUILD)/test-conf \
	$(BUILD)/test-acl $(BUILD)/test-child $(BUILD)/test-log

# built with the programs: the end-to-end tests use them as hostile peers
TEST_TOOLS := $(BUILD)/dbus-as-device

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

all: $(PROGS) $(TEST_TOOLS)

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

$(BUILD)/test-child: $(call obj,tests/unit/test-child.c) $(BUILD)/libshared.a
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/test-log: $(call obj,tests/unit/test-log.c) $(BUILD)/libshared.a
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/dbus-as-device: $(call obj,tests/tools/dbus-as-device.c)
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

# Root: N faulted sessions (default 1000) over PAIRS master/onsite pairs in
# namespaces, nothing may leak; SEED replays a run; ASAN=1 runs the programs
# built with ASan/UBSan. Writes soak/REPORT.md and soak/soak.svg (docs/soak.md).
SOAK_BUILD = $(if $(filter 1,$(ASAN)),$(BUILD)/asan,$(BUILD))
soak:
	$(Q)tests/deps.sh
	$(Q)$(MAKE) --no-print-directory BUILD=$(SOAK_BUILD) $(if $(filter 1,$(ASAN)),SAN=1) all
	$(Q)env REPO=$(CURDIR) BUILD=$(abspath $(SOAK_BUILD)) SOAK_N=$(or $(N),1000) \
		$(if $(PAIRS),PAIRS=$(PAIRS)) $(if $(SEED),SEED=$(SEED)) $(if $(filter 1,$(ASAN)),SAN_BUILD=1) \
		$(if $(SOAK_OUT),SOAK_OUT=$(SOAK_OUT)) tests/soak/soak.sh

# One install target per role; "install" is all three. A configuration file
# that exists already is never overwritten (the administrator may have
# edited it): the new default is installed beside it as FILE.new instead.
install: install-server install-onsite install-master

# install_conf SRC DEST: DEST (under DESTDIR) unless it exists
install_conf = if [ -e $(DESTDIR)$(2) ]; then \
		install -m 0644 $(1) $(DESTDIR)$(2).new; \
		echo "keeping $(DESTDIR)$(2); the new default is $(DESTDIR)$(2).new"; \
	else install -D -m 0644 $(1) $(DESTDIR)$(2); fi

install-server: $(BUILD)/rdvd $(BUILD)/rdv-shell $(BUILD)/rdvctl
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DBUSPOLICYDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DATADIR)/rdv
	install -m 0755 $^ $(DESTDIR)$(SBINDIR)/
	install -m 0755 rdv-server/conf/rdv-gen-cert $(DESTDIR)$(DATADIR)/rdv/
	$(call install_conf,rdv-server/conf/rdvd.conf,$(SYSCONFDIR)/rdv/rdvd.conf)
	$(call install_conf,rdv-server/conf/stunnel-rdv.conf,$(SYSCONFDIR)/rdv/stunnel.conf)
	$(call install_conf,rdv-server/conf/sshd-rdv.conf,$(SYSCONFDIR)/ssh/sshd_config.d/rdv.conf)
	$(call install_conf,rdv-server/conf/logrotate-rdvd,$(SYSCONFDIR)/logrotate.d/rdvd)
	$(call install_conf,rdv-server/conf/rdv-frontdoor.nft,$(SYSCONFDIR)/rdv/rdv-frontdoor.nft)
	install -m 0644 systemd/rdvd.service systemd/rdv-stunnel.service systemd/rdv-frontdoor.service $(DESTDIR)$(UNITDIR)/
	install -m 0644 systemd/org.rdvkit.Broker.conf $(DESTDIR)$(DBUSPOLICYDIR)/
	install -m 0644 docs/rdvd.8 docs/rdvctl.8 docs/rdv-shell.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 docs/rdvd.conf.5 $(DESTDIR)$(MANDIR)/man5/

install-onsite: $(BUILD)/onsitedev
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(BUILD)/onsitedev $(DESTDIR)$(SBINDIR)/
	$(call install_conf,onsite-dev/conf/onsite.conf,$(SYSCONFDIR)/rdv/onsite.conf)
	install -m 0644 systemd/onsitedev.service $(DESTDIR)$(UNITDIR)/
	install -m 0644 docs/onsitedev.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 docs/onsite.conf.5 $(DESTDIR)$(MANDIR)/man5/

install-master: $(BUILD)/masterd $(BUILD)/masterdev
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(DBUSPOLICYDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BUILD)/masterd $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(BUILD)/masterdev $(DESTDIR)$(BINDIR)/
	$(call install_conf,master-dev/conf/master.conf,$(SYSCONFDIR)/rdv/master.conf)
	install -m 0644 systemd/masterd.service $(DESTDIR)$(UNITDIR)/
	install -m 0644 systemd/org.rdvkit.Master.conf $(DESTDIR)$(DBUSPOLICYDIR)/
	install -m 0644 docs/masterd.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 docs/masterdev.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 docs/master.conf.5 $(DESTDIR)$(MANDIR)/man5/

# Debian packages rdv-server, rdv-onsite and rdv-master in $(DEBDIR), for the
# host architecture or ARCH (e.g. ARCH=arm64: Debian's cross toolchain).
DEBDIR ?= $(BUILD)/deb
ARCH   ?=
deb:
	$(Q)debian/build-debs.sh "$(DEBDIR)" $(ARCH)

# SD-card images (image-build/, docs/IMAGES.md): $(IMAGEDIR)/onsite.img and
# master.img with .bmap and .img.xz; the arm64 base root is cached on the
# machine (/var/cache/rdv-images). images-test checks and boots them.
IMAGEDIR ?= $(BUILD)/images
images:
	image-build/make-images.sh "$(IMAGEDIR)"

images-test: images
	image-build/tests/run.sh "$(IMAGEDIR)"

clean:
	rm -rf $(BUILD)

.PHONY: all check demo bench soak install install-server install-onsite install-master deb clean unit-tests fuzzers \
	images images-test

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Builds build/xlbd, build/xlb, the BPF objects and their skeletons, and the
# test binaries. Dependencies: Debian 12 packages (see tools/deps.sh).

CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
BUILD    := build
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
# The layout of the maps a restarted xlbd adopts (src/dataplane.c): a change
# of the shared headers or the map definitions means starting afresh.
ABI_HASH := $(shell cat include/*.h bpf/maps.h 2>/dev/null | cksum | cut -d' ' -f1)

ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine)
CFLAGS   ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	    -D_GNU_SOURCE -DXLB_VERSION='"$(VERSION)"' -DXLB_ABI_HASH='"$(ABI_HASH)"' \
	    -Iinclude -Isrc -I$(BUILD)
BPF_CFLAGS := -O2 -g -target bpf -Wall -Wextra -Werror -Wno-unused-parameter \
	      -Iinclude -Ibpf -I$(ARCH_INC)
LDLIBS   := -lbpf -lelf -lz -lyaml -ljson-c -lmnl -lcurl -lmicrohttpd

# Userspace sources shared by both binaries and the unit tests.
COMMON   := addr.c config.c config_emit.c maglev.c log.c sysctl.c
XLBD_SRC := xlbd.c dataplane.c conntrack.c state.c control_server.c control_client.c netlink.c \
	    health.c health_dns.c metrics.c metrics_server.c \
	    proxy.c proxy_tcp.c proxy_udp.c proxy_sched.c proxy_protocol.c $(COMMON)
XLB_SRC  := xlb.c control_client.c realserver.c netlink.c ipvsadm_import.c \
	    $(notdir $(wildcard src/cli_*.c)) $(COMMON)

BPF_PROGS := xlb decap
SKELS     := $(BPF_PROGS:%=$(BUILD)/%.skel.h)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS  := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(wildcard tests/bpf/test_*.c))

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all tests clean check

all: $(BUILD)/xlbd $(BUILD)/xlb $(BPF_PROGS:%=$(BUILD)/%.bpf.o)

tests: all $(UNIT_TESTS) $(BPF_TESTS)

check: tests
	bash tests/run

$(BUILD) $(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(wildcard include/*.h) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) $(wildcard include/*.h) $(SKELS) | $(BUILD)/obj
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/xlbd: $(XLBD_SRC:%.c=$(BUILD)/obj/%.o)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lpthread

$(BUILD)/xlb: $(sort $(XLB_SRC:%.c=$(BUILD)/obj/%.o))
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# Unit tests link every userspace object except the two mains.
LIB_OBJS = $(filter-out $(BUILD)/obj/xlbd.o $(BUILD)/obj/xlb.o, \
	     $(sort $(XLBD_SRC:%.c=$(BUILD)/obj/%.o) $(XLB_SRC:%.c=$(BUILD)/obj/%.o)))

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/unit.h $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests/unit $< $(LIB_OBJS) -o $@ $(LDLIBS) -lpthread

$(BUILD)/tests/test_%: tests/bpf/test_%.c $(SKELS) $(wildcard tests/bpf/*.h) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests/bpf $< -o $@ $(LDLIBS)

clean:
	rm -rf $(BUILD)

# ---- install ------------------------------------------------------------------
# `make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage]`: the two binaries (the
# BPF objects are embedded in them as skeletons), man pages, bash completion and
# the systemd unit; `make uninstall` removes exactly those files.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR    ?= $(PREFIX)/lib/systemd/system
INSTALL    ?= install

INSTALLED  := $(SBINDIR)/xlbd $(BINDIR)/xlb $(MANDIR)/man8/xlbd.8 $(MANDIR)/man8/xlb.8 \
	      $(MANDIR)/man5/xlb.yaml.5 $(BASHCOMPDIR)/xlb $(UNITDIR)/xlbd.service

.PHONY: install uninstall
install: $(BUILD)/xlbd $(BUILD)/xlb
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 0755 $(BUILD)/xlbd $(DESTDIR)$(SBINDIR)/xlbd
	$(INSTALL) -m 0755 $(BUILD)/xlb $(DESTDIR)$(BINDIR)/xlb
	$(INSTALL) -m 0644 packaging/man/xlbd.8 packaging/man/xlb.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 packaging/man/xlb.yaml.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 packaging/completion/xlb.bash $(DESTDIR)$(BASHCOMPDIR)/xlb
	sed 's|@SBINDIR@|$(SBINDIR)|g' packaging/xlbd.service > $(DESTDIR)$(UNITDIR)/xlbd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/xlbd.service

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

# libFuzzer harnesses (clang): `make fuzz`, then e.g.
# build/fuzz/fuzz_config -max_total_time=60 tests/fuzz/corpus/config
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
	       -DXLB_VERSION='"fuzz"' -Iinclude -Isrc -I$(BUILD)
FUZZ_SRC    := $(addprefix src/,$(filter-out xlbd.c,$(XLBD_SRC)))

.PHONY: fuzz
fuzz: $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRC) $(SKELS)
	mkdir -p $(BUILD)/fuzz
	$(CLANG) $(FUZZ_CFLAGS) $< $(FUZZ_SRC) -o $@ $(LDLIBS)

# ---- bench/ (benchmarks; not part of `make check`) --------------------------
# `make bench` builds and runs the suite (bench/run); `make bench QUICK=1` runs
# the subset; `make bench-build` only builds the tools in build/bench/.
BENCH_BPF := baseline vary floor
# XDP objects bench/e2e_packet.sh attaches with ip link (no skeleton).
BENCH_OBJ := sink fwd

.PHONY: bench bench-build
bench-build: $(BUILD)/bench/xdp_cost $(BUILD)/bench/scale $(BUILD)/bench/xdp_gen \
	     $(BENCH_OBJ:%=$(BUILD)/bench/%.bpf.o)

bench: all bench-build
	QUICK=$(QUICK) bash bench/run

$(BUILD)/bench:
	mkdir -p $@

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c | $(BUILD)/bench
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(BUILD)/bench/xdp_cost: bench/xdp_cost.c $(SKELS) $(BENCH_BPF:%=$(BUILD)/bench/%.skel.h)
	$(CC) $(CFLAGS) -Wno-missing-field-initializers -I$(BUILD)/bench $< -o $@ $(LDLIBS)

$(BUILD)/bench/xdp_gen: bench/xdp_gen.c $(BUILD)/bench/gen.skel.h
	$(CC) $(CFLAGS) -Wno-missing-field-initializers -I$(BUILD)/bench $< -o $@ $(LDLIBS) -lpthread

$(BUILD)/bench/scale: bench/scale.c src/maglev.c src/maglev.h $(SKELS) | $(BUILD)/bench
	$(CC) $(CFLAGS) bench/scale.c src/maglev.c -o $@ $(LDLIBS)

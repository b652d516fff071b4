# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Builds build/xlbd, build/xlb, the BPF objects and their skeletons, and the
# test binaries. Dependencies: Debian 12 packages (see tools/deps.sh).

CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
BUILD    := build
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
# The layout of the maps a restarted xlbd adopts (src/xlbd/dataplane.c): a change
# of the shared headers or the map definitions means starting afresh. Hashed
# without their comments and with whitespace squeezed, so that an upgrade
# whose headers changed only in those keeps every flow; the raw text when
# the compiler cannot strip them (never an empty input). The service index
# (include/xlb_svcidx.h, its maps in bpf/svcidx.h), the services' slots by
# id (include/xlb_svcslots.h, bpf/svcslots.h), the settings' slots
# (include/xlb_cfgslots.h, bpf/cfgslots.h) and the lc/wlc lists' slots
# (include/xlb_lcslots.h, bpf/lcslots.h) are no part of it: never pinned,
# every xlbd fills its own. Nor are the tags of flows and persist entries
# (include/xlb_cttag.h): an entry without one is read as before, so that
# a restart from an xlbd without tags adopts the maps; a change of the
# tag functions must come with a change of xlb_abi.h. Nor is the mark of a
# dr/tun slot whose 5-tuple is not yet written (include/xlb_dsrkey.h): a
# bit every reader of a slot leaves aside, so either side of its coming
# adopts the other's tables.
ABI_TEXT := cat $(sort $(filter-out include/xlb_svcidx.h include/xlb_svcslots.h \
		include/xlb_cfgslots.h include/xlb_lcslots.h include/xlb_cttag.h \
		include/xlb_dsrkey.h,\
		$(wildcard include/*.h))) bpf/maps.h 2>/dev/null
ABI_HASH := $(shell t=$$($(ABI_TEXT) | $(CC) -fpreprocessed -dD -E -P -x c - 2>/dev/null | \
		tr -s '[:space:]' ' '); [ -n "$$t" ] || t=$$($(ABI_TEXT)); \
		printf '%s' "$$t" | cksum | cut -d' ' -f1)

ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine)
# src/lib: code both programs share (config, addresses, Maglev, netlink, the
# control protocol); src/xlbd: the daemon, src/xlbd/proxy its proxy engine;
# src/xlb: the command, one file per verb. The command never sees daemon
# headers: its objects get only src/lib and src/xlb on the include path.
LIB_DIR   := src/lib
XLBD_DIRS := src/xlbd src/xlbd/proxy
XLB_DIR   := src/xlb
CFLAGS   ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	    -D_GNU_SOURCE -DXLB_ABI_HASH='"$(ABI_HASH)"' \
	    -Iinclude -I$(LIB_DIR) -I$(BUILD)
DAEMON_INC := $(XLBD_DIRS:%=-I%)
CLI_INC    := -I$(XLB_DIR)
BPF_CFLAGS := -O2 -g -target bpf -Wall -Wextra -Werror -Wno-unused-parameter \
	      -Iinclude -Ibpf -I$(ARCH_INC)
LDLIBS   := -lbpf -lelf -lz -lyaml -ljson-c -lmnl -lcurl

LIB_SRC  := $(wildcard $(LIB_DIR)/*.c)
XLBD_SRC := $(wildcard $(XLBD_DIRS:%=%/*.c))
XLB_SRC  := $(wildcard $(XLB_DIR)/*.c)
# One object per source, named after the file (names are unique across src/).
obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(notdir $(1)))
LIB_OBJS  := $(call obj,$(LIB_SRC))
XLBD_OBJS := $(call obj,$(XLBD_SRC))
XLB_OBJS  := $(call obj,$(XLB_SRC))

BPF_PROGS := xlb decap proxy_select hz_probe
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

# The version (git describe) is a generated header, rewritten only when it
# changes: a commit rebuilds the few objects that print it, and an object
# never keeps the version of the build before.
$(BUILD)/version.h: FORCE | $(BUILD)
	@echo '#define XLB_VERSION "$(VERSION)"' > $@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
.PHONY: FORCE
FORCE:

$(BUILD)/%.bpf.o: bpf/%.bpf.c | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@
# The proxy's selector shares its load layout with the engine.
$(BUILD)/proxy_select.bpf.o: BPF_CFLAGS += -Isrc/xlbd/proxy
# xlb_xdp: 32-bit ALU and jumps (kernel 5.1+), fewer instructions for its
# 32-bit hashing than the default (docs/performance.md part 7).
$(BUILD)/xlb.bpf.o: BPF_CFLAGS += -mcpu=v3

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# Header dependencies come from the compiler (-MMD -MP, the .d files below);
# the skeletons are order-only so a first build generates them before any
# object that includes one.
$(BUILD)/obj/%.o: $(LIB_DIR)/%.c | $(BUILD)/obj $(SKELS) $(BUILD)/version.h
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/obj/%.o: src/xlbd/%.c | $(BUILD)/obj $(SKELS) $(BUILD)/version.h
	$(CC) $(CFLAGS) $(DAEMON_INC) -MMD -MP -c $< -o $@
$(BUILD)/obj/%.o: src/xlbd/proxy/%.c | $(BUILD)/obj $(SKELS) $(BUILD)/version.h
	$(CC) $(CFLAGS) $(DAEMON_INC) -MMD -MP -c $< -o $@
$(BUILD)/obj/%.o: $(XLB_DIR)/%.c | $(BUILD)/obj $(SKELS) $(BUILD)/version.h
	$(CC) $(CFLAGS) $(CLI_INC) -MMD -MP -c $< -o $@

$(BUILD)/xlbd: $(XLBD_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -luring -lpthread

$(BUILD)/xlb: $(XLB_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# Unit tests link every userspace object except the two mains.
TEST_OBJS = $(filter-out $(BUILD)/obj/xlbd.o $(BUILD)/obj/xlb.o, \
	     $(sort $(LIB_OBJS) $(XLBD_OBJS) $(XLB_OBJS)))

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/unit.h $(TEST_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) $(DAEMON_INC) $(CLI_INC) -Itests/unit -MMD -MP $< $(TEST_OBJS) -o $@ $(LDLIBS) -luring -lpthread

$(BUILD)/tests/test_%: tests/bpf/test_%.c $(SKELS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests/bpf -MMD -MP $< -o $@ $(LDLIBS)

# The fixtures: a runner, the harness and one file of rows per concern.
# It learns HZ as xlbd does (src/xlbd/hz.c) and writes the service index,
# the services' slots by id, the settings' slots and the lc/wlc lists'
# slots with xlbd's writers.
FIXTURE_SRC := tests/bpf/fixture.c $(wildcard tests/bpf/fx_*.c) src/xlbd/hz.c $(LIB_DIR)/svcidx.c \
	       $(LIB_DIR)/svcslots.c $(LIB_DIR)/cfgslots.c $(LIB_DIR)/lcslots.c \
	       $(LIB_DIR)/slots.c
$(BUILD)/tests/test_fixtures: tests/bpf/test_fixtures.c $(FIXTURE_SRC) $(SKELS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests/bpf -Isrc/xlbd -MMD -MP $< $(FIXTURE_SRC) -o $@ $(LDLIBS)

-include $(wildcard $(BUILD)/*.d $(BUILD)/obj/*.d $(BUILD)/tests/*.d $(BUILD)/bench/*.d \
		    $(BUILD)/fuzz/obj/*.d)

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

# libFuzzer harnesses (clang): `make fuzz` builds them and runs each for
# FUZZ_TIME seconds (default 60) over its corpus (tests/fuzz/run.sh);
# `make fuzz-build` only builds them (tests/fuzz/smoke.sh, in tests/run).
FUZZ_CFLAGS := -g -O1 -fsanitize=address,undefined -std=gnu11 -D_GNU_SOURCE \
	       -Iinclude -I$(LIB_DIR) $(DAEMON_INC) -I$(BUILD)
FUZZ_SRC    := $(filter-out %/xlbd.c,$(XLBD_SRC)) $(LIB_SRC)
# The code under test is compiled once (instrumented for coverage, not linked
# with libFuzzer's main) and shared by every harness.
FUZZ_OBJS   := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(notdir $(FUZZ_SRC)))

.PHONY: fuzz fuzz-build
fuzz-build: $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

fuzz: fuzz-build
	bash tests/fuzz/run.sh

$(BUILD)/fuzz/obj:
	mkdir -p $@

$(BUILD)/fuzz/obj/%.o: $(LIB_DIR)/%.c | $(BUILD)/fuzz/obj $(SKELS) $(BUILD)/version.h
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(BUILD)/fuzz/obj/%.o: src/xlbd/%.c | $(BUILD)/fuzz/obj $(SKELS) $(BUILD)/version.h
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(BUILD)/fuzz/obj/%.o: src/xlbd/proxy/%.c | $(BUILD)/fuzz/obj $(SKELS) $(BUILD)/version.h
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS) $(SKELS)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) -o $@ $(LDLIBS) -luring -lpthread

# ---- bench/ (benchmarks; not part of `make check`) --------------------------
# `make bench` builds and runs the suite (bench/run); `make bench QUICK=1` runs
# the subset; `make bench-build` only builds the tools in build/bench/.
BENCH_BPF := baseline vary floor
# XDP objects bench/e2e_packet.sh attaches with ip link (no skeleton).
BENCH_OBJ := sink fwd

.PHONY: bench bench-build
bench-build: $(BUILD)/bench/xdp_cost $(BUILD)/bench/katran_cmp $(BUILD)/bench/scale $(BUILD)/bench/xdp_gen \
	     $(BENCH_OBJ:%=$(BUILD)/bench/%.bpf.o)

bench: all bench-build
	QUICK=$(QUICK) bash bench/run

$(BUILD)/bench:
	mkdir -p $@

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c | $(BUILD)/bench
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# xdp_lab.c: what xdp_cost and katran_cmp share (the lab, xlb's world, timing).
# It learns HZ as xlbd does (src/xlbd/hz.c) and writes the service index,
# the services' slots by id, the settings' and the lc lists' slots with
# xlbd's writers.
BENCH_LIB := $(LIB_DIR)/svcidx.c $(LIB_DIR)/svcslots.c $(LIB_DIR)/cfgslots.c \
	     $(LIB_DIR)/lcslots.c $(LIB_DIR)/slots.c
BENCH_LAB := bench/xdp_lab.c bench/xdp_lab.h tests/bpf/pkt.h src/xlbd/hz.c src/xlbd/hz.h \
	     $(BENCH_LIB) $(SKELS) $(BENCH_BPF:%=$(BUILD)/bench/%.skel.h)
BENCH_LAB_SRC := bench/xdp_lab.c src/xlbd/hz.c $(BENCH_LIB)
$(BUILD)/bench/xdp_cost: bench/xdp_cost.c $(BENCH_LAB)
	$(CC) $(CFLAGS) -Wno-missing-field-initializers -I$(BUILD)/bench -Itests/bpf -Isrc/xlbd $< $(BENCH_LAB_SRC) -o $@ $(LDLIBS)

# katran_cmp loads Katran's object at run time (bench/katran_cmp.sh builds it
# from KATRAN_SRC): nothing of Katran is compiled here.
$(BUILD)/bench/katran_cmp: bench/katran_cmp.c $(BENCH_LAB)
	$(CC) $(CFLAGS) -Wno-missing-field-initializers -I$(BUILD)/bench -Itests/bpf -Isrc/xlbd $< $(BENCH_LAB_SRC) -o $@ $(LDLIBS)

$(BUILD)/bench/xdp_gen: bench/xdp_gen.c $(BUILD)/bench/gen.skel.h
	$(CC) $(CFLAGS) -Wno-missing-field-initializers -I$(BUILD)/bench $< -o $@ $(LDLIBS) -lpthread

$(BUILD)/bench/scale: bench/scale.c $(LIB_DIR)/maglev.c $(LIB_DIR)/maglev.h $(SKELS) | $(BUILD)/bench
	$(CC) $(CFLAGS) bench/scale.c $(LIB_DIR)/maglev.c -o $@ $(LDLIBS)

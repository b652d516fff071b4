#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Packaging, without namespaces or a daemon: `make install` into a staging
# DESTDIR (default PREFIX and PREFIX=/usr) puts exactly the expected files in
# place with the right modes, the systemd unit points at the installed xlbd,
# the man pages render without a groff warning and name every xlb verb and
# xlbd option the binaries' --help lists, the bash completion offers the
# verbs, modes and schedulers, the installed xlb runs (`import ipvsadm`),
# and `make uninstall` removes it all. And the map layout hash: the same
# after a comment-only header change, another after a definition change.
set -u
cd "$(dirname "$0")/../.." || exit 1
REPO=$PWD
T_PASSED=0 T_FAILED=0 T_SKIPPED=0
pass() { echo "PASS $1"; T_PASSED=$((T_PASSED + 1)); }
fail() { echo "FAIL $1: $2"; T_FAILED=$((T_FAILED + 1)); }
skip() { echo "SKIP $1: $2"; T_SKIPPED=$((T_SKIPPED + 1)); }
finish() {
	echo "$T_PASSED passed, $T_FAILED failed, $T_SKIPPED skipped"
	[ "$T_FAILED" -eq 0 ]
	exit
}

TMP=$(mktemp -d /tmp/xlb-packaging.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT

# check NAME CMD...: PASS when CMD succeeds, else FAIL with its output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "$(head -n 5 <<<"$out" | tr '\n' ' ')"
	fi
}

expected_files() { # PREFIX
	cat <<EOF2
$1/bin/xlb 755
$1/lib/systemd/system/xlbd.service 644
$1/sbin/xlbd 755
$1/share/bash-completion/completions/xlb 644
$1/share/man/man5/xlb.yaml.5 644
$1/share/man/man8/xlb.8 644
$1/share/man/man8/xlbd.8 644
EOF2
}

# install_check PREFIX-ARG PREFIX: install, compare the file list and modes.
install_check() {
	local dest=$TMP/dest$2 got want
	if ! make -s -C "$REPO" install DESTDIR="$dest" $1 >"$TMP/make.log" 2>&1; then
		fail "make install $1" "$(tail -n 5 "$TMP/make.log" | tr '\n' ' ')"
		return 1
	fi
	got=$(cd "$dest" && find . -type f -printf '/%P %m\n' | sort)
	want=$(expected_files "$2" | sort)
	if [ "$got" = "$want" ]; then
		pass "make install ${1:-(default PREFIX)}: the 7 expected files, modes 755/644"
	else
		fail "make install $1" "got: $(tr '\n' ' ' <<<"$got") want: $(tr '\n' ' ' <<<"$want")"
	fi
	check "unit ExecStart is $2/sbin/xlbd -f -c /etc/xlb/xlb.yaml" \
		grep -qx "ExecStart=$2/sbin/xlbd -f -c /etc/xlb/xlb.yaml" \
		"$dest$2/lib/systemd/system/xlbd.service"
	if make -s -C "$REPO" uninstall DESTDIR="$dest" $1 >"$TMP/make.log" 2>&1 &&
	   [ -z "$(find "$dest" -type f)" ]; then
		pass "make uninstall ${1:-(default PREFIX)} removes every file"
	else
		fail "make uninstall $1" "left: $(find "$dest" -type f | tr '\n' ' ')"
	fi
}

if ! make -s -C "$REPO" all >"$TMP/make.log" 2>&1; then
	fail "build" "$(tail -n 5 "$TMP/make.log" | tr '\n' ' ')"
	finish
fi
install_check "" /usr/local
install_check "PREFIX=/usr" /usr

# Leave one install in place for the checks below.
D=$TMP/stage
make -s -C "$REPO" install DESTDIR="$D" PREFIX=/usr >"$TMP/make.log" 2>&1 ||
	fail "make install (stage)" "$(tail -n 5 "$TMP/make.log")"
UNIT=$D/usr/lib/systemd/system/xlbd.service

for key in "Type=simple" "ExecReload=/bin/kill -HUP \$MAINPID" "Restart=on-failure" \
	   "LimitMEMLOCK=infinity"; do
	check "unit has $key" grep -qxF "$key" "$UNIT"
done
check "unit limits capabilities to CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN CAP_NET_BIND_SERVICE" \
	grep -qx "CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN CAP_NET_BIND_SERVICE" "$UNIT"
check "unit has a high LimitNOFILE" grep -qE '^LimitNOFILE=[0-9]{6,}$' "$UNIT"
if command -v systemd-analyze >/dev/null; then
	# Only the unit's own syntax: the binary and man pages are not installed
	# under / here, so those two complaints are expected.
	out=$(systemd-analyze verify "$UNIT" 2>&1 | grep -v "is not executable\|Command 'man ")
	if [ -z "$out" ]; then
		pass "systemd-analyze verify: no complaint about the unit"
	else
		fail "systemd-analyze verify" "$(tr '\n' ' ' <<<"$out")"
	fi
else
	skip "systemd-analyze verify" "systemd-analyze not installed"
fi

# Man pages: no warning from groff, and man renders them.
for page in man8/xlbd.8 man8/xlb.8 man5/xlb.yaml.5; do
	f=$D/usr/share/man/$page
	if ! command -v groff >/dev/null; then
		skip "$page renders" "groff not installed"
		continue
	fi
	out=$(groff -man -ww -z "$f" 2>&1)
	if [ -z "$out" ]; then
		pass "groff -man -ww: $page has no warning"
	else
		fail "groff -man -ww $page" "$(tr '\n' ' ' <<<"$out")"
	fi
	if command -v man >/dev/null; then
		out=$(MANWIDTH=80 man -l "$f" 2>&1 >"$TMP/page.txt")
		if [ -z "$out" ] && [ -s "$TMP/page.txt" ]; then
			pass "man -l $page renders"
		else
			fail "man -l $page" "$out"
		fi
	fi
done

XLB=$D/usr/bin/xlb XLBD=$D/usr/sbin/xlbd
# Every command `xlb --help` lists is in xlb(8) and the completion; every
# long option of `xlbd --help` is in xlbd(8).
verbs=$("$XLB" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p')
missing=
for v in $verbs; do
	grep -q "^\\\\fB$v\\b\|^\.B $v\$" "$D/usr/share/man/man8/xlb.8" || missing+=" $v"
done
if [ -n "$verbs" ] && [ -z "$missing" ]; then
	pass "xlb(8) documents every command of xlb --help ($(echo $verbs))"
else
	fail "xlb(8) commands" "missing:${missing:- (no verbs parsed)}"
fi
opts=$("$XLBD" --help | grep -o -- '--[a-z]*' | sort -u)
missing=
for o in $opts; do
	grep -qF -- "${o//-/\\-}" "$D/usr/share/man/man8/xlbd.8" || missing+=" $o"
done
if [ -n "$opts" ] && [ -z "$missing" ]; then
	pass "xlbd(8) documents every option of xlbd --help"
else
	fail "xlbd(8) options" "missing:${missing:- (no options parsed)}"
fi

# Completion: source it and ask as readline would.
complete_words() { # WORDS...: the completions of the last word
	bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_xlb xlb "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$D/usr/share/bash-completion/completions/xlb" "$@"
}
check "completion file parses" bash -n "$D/usr/share/bash-completion/completions/xlb"
got=$(complete_words xlb "" | sort | tr '\n' ' ')
missing=
for v in $verbs; do [[ " $got" == *" $v "* ]] || missing+=" $v"; done
if [ -z "$missing" ] && [ -n "$verbs" ]; then
	pass "completion offers every verb"
else
	fail "completion verbs" "missing:$missing (got: $got)"
fi
got=$(complete_words xlb service add tcp/198.18.0.100:80 --mode "" | sort | tr '\n' ' ')
if [ "$got" = "dr fullnat nat proxy tun " ]; then
	pass "completion offers the modes after --mode"
else
	fail "completion modes" "got: $got"
fi
got=$(complete_words xlb service add tcp/198.18.0.100:80 --scheduler "" | sort | tr '\n' ' ')
if [ "$got" = "lc maglev random2 rr sh wlc wrr " ]; then
	pass "completion offers the schedulers after --scheduler"
else
	fail "completion schedulers" "got: $got"
fi
got=$(complete_words xlb import "" | tr '\n' ' ')
check "completion: xlb import offers ipvsadm" grep -q ipvsadm <<<"$got"
# No xlbd answers on this socket: service completion stays quiet and quick.
got=$(timeout 10 bash -c "$(declare -f complete_words); D=$D; complete_words xlb --socket $TMP/none.sock backend set ''")
rc=$?
if [ $rc -eq 0 ] && [ -z "$got" ]; then
	pass "completion without a daemon: no services, no error"
else
	fail "completion without a daemon" "rc $rc, got: $got"
fi

# The installed xlb works on its own.
printf '%s\n' '-A -t 198.18.0.100:80 -s wlc' \
	'-a -t 198.18.0.100:80 -r 198.18.0.11:80 -m -w 1' >"$TMP/rules"
if out=$("$XLB" import ipvsadm -i eth0 "$TMP/rules" 2>&1) &&
   grep -q "mode: nat" <<<"$out" && grep -q "scheduler: wlc" <<<"$out"; then
	pass "installed xlb: import ipvsadm prints the config"
else
	fail "installed xlb import ipvsadm" "$(tr '\n' ' ' <<<"$out")"
fi
check "installed xlbd: --version" "$XLBD" --version

# The map layout hash a restarted xlbd compares (Makefile ABI_HASH): the
# same when a shared header changed only in a comment, another when its
# code changed. Computed in a copy of the headers and the Makefile.
abi_hash() { make -s -C "$TMP/abi" --eval 'print-abi: ; @echo $(ABI_HASH)' print-abi; }
mkdir -p "$TMP/abi/bpf" && cp -r include "$TMP/abi/" && cp bpf/maps.h "$TMP/abi/bpf/" &&
	cp Makefile "$TMP/abi/"
h0=$(abi_hash)
echo '/* a comment an upgrade may add */' >>"$TMP/abi/include/xlb_abi.h"
h1=$(abi_hash)
echo '#define XLB_ABI_TEST_FIELD 1' >>"$TMP/abi/include/xlb_abi.h"
h2=$(abi_hash)
if [ -n "$h0" ] && [ "$h1" = "$h0" ] && [ "$h2" != "$h0" ]; then
	pass "ABI hash: a comment leaves it, a definition changes it"
else
	fail "ABI hash: a comment leaves it, a definition changes it" "$h0 / comment $h1 / definition $h2"
fi

finish

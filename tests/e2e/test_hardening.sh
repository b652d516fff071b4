#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A hostile or careless user against xlbd, in the namespace lab of lib.sh
# (dr mode, an HTTP check every 500 ms): bad input through the CLI, the
# control socket and files (NUL bytes, invalid UTF-8, VIPs that are not
# unicast, ambiguous IPv6 backends, a 1 MB deeply nested YAML) is refused
# with a clear error and changes nothing; symbolic links planted where xlbd
# writes are refused; a second xlbd refuses the live socket; a bpffs
# directory others can write to is refused; and a slow-loris client with a
# flood of idle connections on the control socket holds nothing: a killed
# backend still leaves the table, `xlb list` answers and SIGTERM exits,
# while slow-loris and flooding clients of the metrics endpoint leave every
# scrape answered.
#
#   ns cl --- ns sw (br0) --- ns lb (xlbd, XDP on elb; control socket flooded)
#                         \-- ns rs1..rs3 (nginx, unbound; VIP on lo)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

hard_config() {
	cat >"$1" <<EOF2
interfaces: [elb]
${2:-}
services:
  - name: http
    vip: $VIP_V4
    port: 80
    protocol: tcp
    mode: dr
    health_check: { type: http, path: /, interval: 500ms, timeout: 500ms, rise: 2, fall: 2 }
    backends:
      - { address: ${RS_V4[0]} }
      - { address: ${RS_V4[1]} }
      - { address: ${RS_V4[2]} }
EOF2
}

sock_path() { echo "/run/xlb/xlbd-ns$LAB_LB_INODE.sock"; }

# raw_request BYTES-AS-PYTHON-LITERAL: send them on the control socket,
# print the reply.
raw_request() {
	python3 - "$(sock_path)" "$1" <<'EOF2'
import ast, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(ast.literal_eval(sys.argv[2]))
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
print(out.decode("utf-8", "replace"))
EOF2
}

# The running config as `xlb save` writes it: compared before and after
# each bad input.
saved() { xlb_cli save 2>&1; }

# refused NAME EXPECTED-SUBSTRING CMD...: CMD fails, says EXPECTED, and
# the running config stays as it was.
refused() {
	local name=$1 want=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && ! grep -q '"ok": *false' <<<"$out"; then
		fail "$name" "accepted: $out"
	elif ! grep -qF -- "$want" <<<"$out"; then
		fail "$name" "error does not say '$want': $out"
	elif [ "$(saved)" != "$BEFORE" ]; then
		fail "$name" "the running config changed"
	else
		pass "$name"
	fi
}

bad_input() {
	local d=$LAB_DIR f
	BEFORE=$(saved)
	# The CLI.
	refused "cli: invalid UTF-8 in --name refused" "argument 7 has invalid UTF-8" \
		xlb_cli service add tcp/198.18.0.100:81 --mode dr --name $'x\xff'
	for v in 255.255.255.255 127.0.0.1 224.0.0.1 0.0.0.0 '[::]' '[::1]'; do
		refused "cli: VIP $v refused" "a VIP is a unicast address" \
			xlb_cli service add "tcp/$v:81" --mode dr
	done
	# The control socket.
	refused "socket: a NUL byte escaped in a name refused" "NUL byte" raw_request \
		"b'{\"cmd\":\"service_add\",\"service\":\"tcp/198.18.0.100:81\",\"mode\":\"dr\",\"name\":\"a\\\\u0000b\"}\\n'"
	refused "socket: a raw NUL byte refused" "NUL byte at offset 8" raw_request \
		"b'{\"cmd\":\"\\x00list\"}\\n'"
	refused "socket: invalid UTF-8 in a name refused" "invalid utf-8" raw_request \
		"b'{\"cmd\":\"service_add\",\"service\":\"tcp/198.18.0.100:81\",\"mode\":\"dr\",\"name\":\"x\\xff\"}\\n'"
	refused "socket: VIP 224.0.0.1 refused" "a multicast address" raw_request \
		"b'{\"cmd\":\"service_add\",\"service\":\"tcp/224.0.0.1:81\",\"mode\":\"dr\"}\\n'"
	refused "socket: a cut-short request says so" "ends early" raw_request \
		"b'{\"cmd\":\"li'"
	# Files given to `xlb apply`.
	hard_config "$d/ok.yaml"
	printf 'interfaces: [elb]\nservices: []\n\0more\n' >"$d/nul.yaml"
	refused "apply: a NUL byte refused with its position" "nul.yaml:3:1: a NUL byte" \
		xlb_cli apply -f "$d/nul.yaml"
	sed 's/name: http/name: "h\xfftp"/' "$d/ok.yaml" >"$d/utf8.yaml"
	refused "apply: invalid UTF-8 refused with its position" "utf8.yaml:4:" \
		xlb_cli apply -f "$d/utf8.yaml"
	sed "s/vip: $VIP_V4/vip: 127.0.0.1/" "$d/ok.yaml" >"$d/vip.yaml"
	refused "apply: VIP 127.0.0.1 refused" "a loopback address" xlb_cli apply -f "$d/vip.yaml"
	sed "s/address: ${RS_V4[2]}/address: 2001:db8::13:80/" "$d/ok.yaml" >"$d/v6.yaml"
	refused "apply: ambiguous IPv6 backend refused with a hint" "write [ADDR]:PORT" \
		xlb_cli apply -f "$d/v6.yaml"
	# 1 MB nested as deep as it goes: refused at once, with its position.
	head -c $((1 << 20)) /dev/zero | tr '\0' '[' >"$d/deep.yaml"
	refused "apply: 1 MB deeply nested YAML refused with file:line:column" \
		"deep.yaml:1:33: nested too deep" xlb_cli apply -f "$d/deep.yaml"
	local out
	out=$(timeout 10 "$XLBD_BIN" -c "$d/deep.yaml" 2>&1)
	check "xlbd -c: the same file refused with its position" "$out" \
		grep -qF "deep.yaml:1:33: nested too deep" <<<"$out"
}

# A second xlbd (another instance) on the same socket path.
second_instance() {
	hard_config "$LAB_DIR/second.yaml" "instance: ${LAB_ID}b"
	local out
	ns_bpf_prefix "$NS_LB"
	out=$(timeout 20 "${NS_BPF[@]}" "$XLBD_BIN" -f -c "$LAB_DIR/second.yaml" 2>&1)
	check "second instance refuses the live socket" "$out" \
		grep -q "another xlbd listens on $(sock_path)" <<<"$out"
	out=$(xlb_cli list 2>&1)
	check "the first xlbd still answers" "$out" grep -q "${RS_V4[0]}" <<<"$out"
}

# plant PATH: a symbolic link at PATH to a file of ours that must stay.
plant() {
	rm -f "$1"
	echo "victim" >"$LAB_DIR/victim"
	ln -s "$LAB_DIR/victim" "$1"
}
victim_intact() { [ "$(cat "$LAB_DIR/victim")" = victim ]; }

symlinks() {
	local inst=ns$LAB_LB_INODE p out
	for p in "/run/xlb/xlbd-$inst.lock" "$(sock_path)"; do
		plant "$p"
		if xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
			fail "symlink at $p refused" "xlbd started"
			xlbd_stop
		else
			check "symlink at $p refused" "$(cat "$LAB_DIR/start.err")" \
				grep -qE "symbolic link|not a socket" "$LAB_DIR/start.err"
		fi
		check "symlink at $p: its target untouched" "changed" victim_intact
		rm -f "$p"
	done
	# Files written while running: the link is replaced, never followed.
	for p in "/run/xlb/xlbd-$inst.abi" "/run/xlb/xlbd-$inst.addrs"; do
		plant "$p"
		if xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
			xlbd_stop
		fi
		check "symlink at $p not followed" "target changed" victim_intact
		rm -f "$p"
	done
	# The log of a daemon in the background.
	plant "/run/xlb/xlbd-$inst.log"
	ns_bpf_prefix "$NS_LB"
	out=$(timeout 30 "${NS_BPF[@]}" "$XLBD_BIN" -c "$LAB_DIR/xlb.yaml" 2>&1)
	check "symlink at the log refused" "$out" grep -q "symbolic link" <<<"$out"
	check "symlink at the log: its target untouched" "changed" victim_intact
	rm -f "/run/xlb/xlbd-$inst.log"
}

# A bpffs whose xlb directory anyone can write to.
bpffs_perms() {
	local b=$LAB_DIR/bpffs out
	mkdir -p "$b" && mount -t bpf bpf "$b" || { skip "bpffs check" "cannot mount a bpffs"; return; }
	mkdir -m 1777 "$b/xlb"
	hard_config "$LAB_DIR/bpffs.yaml" "bpffs: $b"
	ns_bpf_prefix "$NS_LB"
	out=$(timeout 20 "${NS_BPF[@]}" "$XLBD_BIN" -f -c "$LAB_DIR/bpffs.yaml" 2>&1)
	check "a bpffs directory others can write to is refused" "$out" \
		grep -q "refusing to pin in $b/xlb: writable by other users" <<<"$out"
	umount "$b"
}

# FLOOD_PY: one client sending a request a byte a second, and ~1000 idle
# connections renewed as xlbd drops them, for at most $2 seconds (flood()
# stops it sooner: how long its checks take depends on the machine).
FLOOD_PY='
import resource, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
path, end = sys.argv[1], time.time() + float(sys.argv[2])
req, i, held, loris = b"{\"cmd\":\"list\"}\n", 0, [], None
while time.time() < end:
    try:
        if loris is None:
            loris = socket.socket(socket.AF_UNIX)
            loris.connect(path)
        loris.send(req[i % len(req):i % len(req) + 1])
    except OSError:
        if loris is not None:
            loris.close()
        loris = None
    i += 1
    while len(held) < 1000:
        s = socket.socket(socket.AF_UNIX)
        s.setblocking(False)
        try:
            s.connect(path)
        except OSError:
            pass
        held.append(s)
    time.sleep(1)
    for s in held[:200]:
        s.close()
    del held[:200]
'

# MFLOOD_PY: against the metrics endpoint at $1:$2 for at most $3 seconds
# (stopped by flood() once its checks are done): 100
# slow-loris requests a byte a second (renewed as xlbd drops them) and 4
# threads scraping as fast as they can.
MFLOOD_PY='
import socket, sys, threading, time
host, port, end = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
def scrape():
    while time.time() < end:
        try:
            s = socket.create_connection((host, port), timeout=2)
            s.sendall(req)
            while s.recv(65536):
                pass
            s.close()
        except OSError:
            pass
for _ in range(4):
    threading.Thread(target=scrape, daemon=True).start()
loris, i = [], 0
while time.time() < end:
    while len(loris) < 100:
        try:
            loris.append(socket.create_connection((host, port), timeout=2))
        except OSError:
            break
    for s in list(loris):
        try:
            s.send(req[i % 10:i % 10 + 1])
        except OSError:
            s.close()
            loris.remove(s)
    i += 1
    time.sleep(1)
'

flood() {
	local svc="tcp/$VIP_V4:80" ms t0 t1 out i ok=0
	python3 -c "$FLOOD_PY" "$(sock_path)" 180 2>"$LAB_DIR/flood.err" &
	local fpid=$!
	LAB_PIDS+=("$fpid")
	in_ns "$NS_LB" python3 -c "$MFLOOD_PY" 127.0.0.1 9100 180 2>"$LAB_DIR/mflood.err" &
	local mpid=$!
	LAB_PIDS+=("$mpid")
	sleep 2
	for i in 1 2 3 4 5; do
		in_ns "$NS_LB" curl -sf --max-time 8 http://127.0.0.1:9100/metrics 2>/dev/null |
			grep -q '^xlb_backend_up{' && ok=$((ok + 1))
	done
	check "flood: 5/5 scrapes answered beside 100 slow-loris and 4 flooding metrics clients" \
		"$ok/5; $(tail -3 "$LAB_DIR/mflood.err")" [ $ok = 5 ]
	check "flood: the metrics flood was running throughout" \
		"$(tail -3 "$LAB_DIR/mflood.err")" kill -0 "$mpid"
	stop_pidfile "$LAB_DIR/rs2/nginx.pid" || { fail "flood: stop nginx on rs2" "still running"; return; }
	# fall x interval + timeout = 1.5 s; 15 s proves the loop is not held.
	if ms=$(wait_health 15 "$svc" "${RS_V4[1]}" down); then
		pass "flood: rs2 leaves the table while the socket is flooded (${ms} ms)"
	else
		fail "flood: rs2 leaves the table while the socket is flooded" "not within 15 s"
	fi
	t0=$(date +%s%3N)
	out=$(xlb_cli list 2>&1)
	t1=$(date +%s%3N)
	check "flood: xlb list answers ($((t1 - t0)) ms)" "$out" grep -q "${RS_V4[0]}" <<<"$out"
	# Checked before the stop: the socket goes with xlbd.
	check "flood: the flood was running throughout" "$(tail -3 "$LAB_DIR/flood.err")" \
		kill -0 "$fpid"
	check "flood: SIGTERM exits promptly" "xlbd still ran 10 s after SIGTERM" xlbd_stop
	kill "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
	ip netns pids "$NS_LB" | xargs -r ps -o pid=,comm= -p | awk '$2 ~ /python/ {print $1}' |
		xargs -r kill 2>/dev/null
	wait "$mpid" 2>/dev/null
}

main() {
	lab_start_dr hardening || { summary; return; }
	hard_config "$LAB_DIR/xlb.yaml"
	if ! xlbd_start "$LAB_DIR/xlb.yaml" 2>"$LAB_DIR/start.err"; then
		fail "hardening: xlbd starts" "$(cat "$LAB_DIR/start.err")"; summary; return
	fi
	pass "hardening: xlbd starts"
	check "run directory is private (0700)" "$(stat -c %a /run/xlb)" \
		[ "$(stat -c %a /run/xlb)" = 700 ]
	bad_input
	second_instance
	xlbd_stop
	symlinks
	bpffs_perms
	hard_config "$LAB_DIR/flood.yaml" 'metrics: { listen: "127.0.0.1:9100" }'
	xlbd_start "$LAB_DIR/flood.yaml" 2>"$LAB_DIR/start.err" ||
		{ fail "hardening: xlbd starts again" "$(cat "$LAB_DIR/start.err")"; summary; return; }
	wait_health 10 "tcp/$VIP_V4:80" "${RS_V4[1]}" up >/dev/null
	flood
	summary
}

main

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# xlb in two minutes: builds xlb, builds the namespace lab of tests/e2e/lib.sh
# (a client, the balancer, three real servers running nginx and unbound),
# serves HTTP and DNS on 198.18.0.100 in dr mode and on 198.18.0.101 in tun
# mode, sends a few requests through each VIP, shows which real server
# answered and which client address it saw, prints `xlb list --stats`, and
# tears everything down. Run as root on Debian 12: bash demo/demo.sh
set -u
cd "$(dirname "$0")/.." || exit 1
LAB_ID=xlbdemo$$
. tests/e2e/lib.sh

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

say "1. dependencies and build"
bash tools/deps.sh || die "tools/deps.sh failed"
buildlog=$(mktemp /tmp/xlb-demo-build.XXXXXX)
if ! make -j2 >"$buildlog" 2>&1; then
	tail -n 30 "$buildlog"
	die "make failed"
fi
rm -f "$buildlog"
echo "  built $XLBD_BIN and $XLB_BIN ($("$XLB_BIN" version 2>/dev/null | head -n 1))"

lab_require || die "$LAB_SKIP_WHY"
lab_init
say "2. the lab (network namespaces named $LAB_ID-*)"
lab_up || die "cannot build the lab"
lab_start_servers || die "cannot start the real servers"
cat <<EOF
  client   $CL_V4          ns $NS_CL
  xlbd     $LB_V4          ns $NS_LB (XDP on elb)
  servers  ${RS_V4[*]}  ns $LAB_ID-rs1..3 (nginx :80, unbound :53)
  VIPs     $VIP_V4 (dr), $VIP2_V4 (tun)
EOF

say "3. real servers: xlb realserver setup"
for rs in "${RS_NAMES[@]}"; do
	echo "  $rs: xlb realserver setup --mode dr --vip $VIP_V4"
	xlb_rs "$rs" realserver setup --mode dr --vip "$VIP_V4" || die "realserver setup failed on $rs"
	echo "  $rs: xlb realserver setup --mode tun --vip $VIP2_V4 --dev ers"
	xlb_rs "$rs" realserver setup --mode tun --vip "$VIP2_V4" --dev ers || die "realserver setup failed on $rs"
done

say "4. xlbd with this config"
conf=$LAB_DIR/xlb.yaml
{
	echo "interfaces: [elb]"
	echo "tunnel_source_v4: $LB_V4/32"
	echo "services:"
	for m in dr tun; do
		vip=$VIP_V4
		[ $m = tun ] && vip=$VIP2_V4
		for svc in "http 80 tcp" "dns 53 udp"; do
			set -- $svc
			echo "  - name: $1-$m"
			echo "    vip: $vip"
			echo "    port: $2"
			echo "    protocol: $3"
			echo "    mode: $m"
			echo "    backends:"
			for a in "${RS_V4[@]}"; do echo "      - { address: $a, weight: 100 }"; done
		done
	done
} >"$conf"
sed 's/^/  /' "$conf"
xlbd_start "$conf" || die "xlbd did not start"

say "5. requests from the client ($CL_V4)"
bad=0
for m in dr tun; do
	vip=$VIP_V4
	[ $m = tun ] && vip=$VIP2_V4
	for i in 1 2 3 4; do
		body=$(timeout 5 ip netns exec "$NS_CL" curl -s --max-time 2 "http://$vip/")
		if [ -n "$body" ]; then
			set -- $body
			printf '  %-3s curl http://%s/   -> %s answered; it saw client %s port %s\n' \
				"$m" "$vip" "$1" "$2" "$3"
		else
			printf '  %-3s curl http://%s/   -> no answer\n' "$m" "$vip"
			bad=1
		fi
	done
	for i in 1 2 3 4; do
		ans=$(timeout 5 ip netns exec "$NS_CL" dig +short +tries=1 +time=2 "@$vip" who.xlb.test TXT | tr -d '"')
		if [ -n "$ans" ]; then
			printf '  %-3s dig @%s who.xlb.test -> %s answered (UDP reply came from the VIP)\n' \
				"$m" "$vip" "$ans"
		else
			printf '  %-3s dig @%s who.xlb.test -> no answer\n' "$m" "$vip"
			bad=1
		fi
	done
done

say "6. xlb list --stats"
xlb_cli list --stats | sed 's/^/  /'

say "7. teardown"
xlbd_stop && echo "  xlbd stopped (SIGTERM): XDP detached, VIPs removed"
for rs in "${RS_NAMES[@]}"; do
	xlb_rs "$rs" realserver teardown --vip "$VIP_V4" >/dev/null 2>&1
	xlb_rs "$rs" realserver teardown --vip "$VIP2_V4" >/dev/null 2>&1
done
echo "  real servers torn down; namespaces $LAB_ID-* are deleted on exit"
[ $bad = 0 ] || { echo "demo: some requests got no answer (see above)"; exit 1; }
exit 0

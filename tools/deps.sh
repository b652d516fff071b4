#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Installs what building and testing xlb needs on Debian 12 (run as root), and
# mounts bpffs. Idempotent and quiet: prints only what it had to do or what failed.
set -euo pipefail

BUILD_DEPS=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libyaml-dev
	    libjson-c-dev libmnl-dev libcurl4-openssl-dev make gcc pkg-config
	    libclang-rt-14-dev liburing-dev)
# Lab and test peers: real servers (nginx, unbound), clients (curl, dig, socat,
# ping: the labs warm neighbour entries with it and prove routes absent),
# and the tools the e2e lab drives (ip, ethtool, jq, tcpdump, pkill-free ps,
# openssl for the https check's self-signed certificate);
# bird2 on the nodes and frr as the ECMP router of the scale-out lab.
LAB_DEPS=(iproute2 iputils-ping ethtool nginx-light unbound bind9-dnsutils curl jq socat
	  tcpdump procps util-linux python3 bird2 frr openssl)

die() { echo "deps.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (installs packages, mounts bpffs)"

missing=()
for p in "${BUILD_DEPS[@]}" "${LAB_DEPS[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# nginx, unbound, bird and frr must not start as system services: the lab
	# runs its own instances inside namespaces, and a system one would hold
	# port 53/80/179.
	# policy-rc.d answering 101 tells invoke-rc.d "not allowed" during install.
	policy=/usr/sbin/policy-rc.d
	own_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' > "$policy"
		chmod 755 "$policy"
		own_policy=1
	fi
	log=$(mktemp /tmp/xlb-deps.XXXXXX)
	rc=0
	{ apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
		>"$log" 2>&1 || rc=$?
	[ $own_policy = 1 ] && rm -f "$policy"
	if [ $rc != 0 ]; then
		tail -n 30 "$log" >&2
		rm -f "$log"
		die "apt-get failed (exit $rc) installing: ${missing[*]}"
	fi
	rm -f "$log"
fi

# bpftool on Debian 12 lives in /usr/sbin, which a non-login root shell may
# not have on PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH="$PATH:/usr/sbin:/sbin" ;; esac
command -v bpftool >/dev/null || die "bpftool not found after install"

# Root's only (a bpffs mounts 1777 by default): whoever can write there can
# move xlbd's pins away.
if ! mountpoint -q /sys/fs/bpf; then
	mount -t bpf -o mode=0700 bpf /sys/fs/bpf || die "cannot mount bpffs on /sys/fs/bpf"
elif [ -n "$(find /sys/fs/bpf -maxdepth 0 -perm -o+w)" ]; then
	echo "deps.sh: /sys/fs/bpf was writable by every user; made it 0700"
	chmod 0700 /sys/fs/bpf
fi
exit 0

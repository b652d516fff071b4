# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# bash completion of xlb, the command of the xlb load balancer: verbs,
# options, modes, schedulers, and the services and backends of the running
# xlbd (from `xlb list --json`) when one answers. Installed to
# $(PREFIX)/share/bash-completion/completions/xlb.

# The services (PROTO/VIP:PORT) of the running xlbd, or nothing.
_xlb_services()
{
	"$1" "${@:2}" list --json 2>/dev/null |
		sed -n 's/^ *"service": *"\([^"]*\)".*/\1/p'
}

# The backend addresses of service $svc of the running xlbd.
_xlb_backends()
{
	local svc=$1
	shift
	"$@" list --json 2>/dev/null | awk -v svc="$svc" '
		/"service": *"/ { s = $0; sub(/^ *"service": *"/, "", s); sub(/".*/, "", s); cur = s }
		/"address": *"/ && cur == svc { a = $0; sub(/^ *"address": *"/, "", a); sub(/".*/, "", a); print a }'
}

_xlb()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion -n : || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	local verbs="service backend list conns zero save apply node realserver import version help"
	local modes="dr tun nat fullnat proxy"
	local scheds="maglev sh rr wrr lc wlc random2"
	# The xlb command itself plus --socket, to ask the same xlbd.
	local xlb=("${words[0]}")
	local i verb= sub= args=()

	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--socket|-s)
			xlb+=(--socket "${words[i+1]}")
			((i++))
			;;
		--socket=*) xlb+=("${words[i]}") ;;
		-*) [ -n "$verb" ] && args+=("${words[i]}") ;;
		*)
			if [ -z "$verb" ]; then
				verb=${words[i]}
			elif [ -z "$sub" ]; then
				sub=${words[i]}
			else
				args+=("${words[i]}")
			fi
			;;
		esac
	done

	case $prev in
	--socket|-s) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--mode)
		if [ "$verb" = realserver ]; then
			COMPREPLY=($(compgen -W "dr tun" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$modes" -- "$cur"))
		fi
		return ;;
	--scheduler) COMPREPLY=($(compgen -W "$scheds" -- "$cur")); return ;;
	--weight|--persistence|--persistence-netmask|--name|--vip|--timeouts|--limit) return ;;
	--health-check) COMPREPLY=($(compgen -W "none" -- "$cur")); return ;;
	--state) COMPREPLY=($(compgen -W "up drain maint" -- "$cur")); return ;;
	--backup) COMPREPLY=($(compgen -W "true false" -- "$cur")); return ;;
	--health) COMPREPLY=($(compgen -W "up down auto" -- "$cur")); return ;;
	--dev|--interface|-i)
		COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur"))
		return ;;
	-f)
		if [ "$verb" = apply ]; then
			COMPREPLY=($(compgen -f -- "$cur"))
			return
		fi ;;
	esac

	if [ -z "$verb" ]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--socket --help --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
		fi
		return
	fi

	case $verb in
	service)
		if [ -z "$sub" ]; then
			COMPREPLY=($(compgen -W "add set del --help" -- "$cur"))
		elif [ "$sub" = add ]; then
			[ ${#args[@]} -ge 1 ] || [[ $cur == -* ]] &&
				COMPREPLY=($(compgen -W "--mode --scheduler --persistence --persistence-netmask --name --health-check --timeouts" -- "$cur"))
		elif [ "$sub" = set ] && [ ${#args[@]} -eq 0 ] && [[ $cur != -* ]]; then
			COMPREPLY=($(compgen -W "$(_xlb_services "${xlb[@]}")" -- "$cur"))
		elif [ "$sub" = set ]; then
			COMPREPLY=($(compgen -W "--scheduler --persistence --persistence-netmask --name --health-check --timeouts" -- "$cur"))
		elif [ "$sub" = del ] && [ ${#args[@]} -eq 0 ]; then
			COMPREPLY=($(compgen -W "$(_xlb_services "${xlb[@]}")" -- "$cur"))
		fi ;;
	backend)
		if [ -z "$sub" ]; then
			COMPREPLY=($(compgen -W "add set del --help" -- "$cur"))
		elif [ ${#args[@]} -eq 0 ]; then
			COMPREPLY=($(compgen -W "$(_xlb_services "${xlb[@]}")" -- "$cur"))
		elif [ ${#args[@]} -eq 1 ] && [ "$sub" != add ] && [[ $cur != -* ]]; then
			COMPREPLY=($(compgen -W "$(_xlb_backends "${args[0]}" "${xlb[@]}")" -- "$cur"))
		elif [ "$sub" = set ]; then
			COMPREPLY=($(compgen -W "--weight --state --backup --health" -- "$cur"))
		elif [ "$sub" = add ]; then
			COMPREPLY=($(compgen -W "--weight --state --backup" -- "$cur"))
		fi ;;
	list) COMPREPLY=($(compgen -W "--stats --rate --json --help" -- "$cur")) ;;
	conns)
		if [[ $cur == -* ]] || [ ${#args[@]} -ge 1 ] || [ -n "$sub" ]; then
			COMPREPLY=($(compgen -W "--limit --json --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_xlb_services "${xlb[@]}")" -- "$cur"))
		fi ;;
	zero)
		[ -z "$sub" ] && COMPREPLY=($(compgen -W "$(_xlb_services "${xlb[@]}") --help" -- "$cur")) ;;
	apply) COMPREPLY=($(compgen -W "-f --help" -- "$cur")) ;;
	node) [ -z "$sub" ] && COMPREPLY=($(compgen -W "drain undrain --help" -- "$cur")) ;;
	save|version) COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
	realserver)
		if [ -z "$sub" ]; then
			COMPREPLY=($(compgen -W "setup teardown --help" -- "$cur"))
		elif [ "$sub" = setup ]; then
			COMPREPLY=($(compgen -W "--mode --vip --dev" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "--vip" -- "$cur"))
		fi ;;
	import)
		if [ -z "$sub" ]; then
			COMPREPLY=($(compgen -W "ipvsadm keepalived --help" -- "$cur"))
		elif [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--interface --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi ;;
	esac
	# Service names hold ':' (a word break for readline).
	declare -F __ltrim_colon_completions >/dev/null && __ltrim_colon_completions "$cur"
	return 0
}
complete -F _xlb xlb

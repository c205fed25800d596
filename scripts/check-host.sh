#!/usr/bin/env bash
# Checks whether this host is tuned for ilinkd's hot threads and prints advice per finding.
# Advice only: always exits 0. Usage: scripts/check-host.sh [HOT_CORES...]   (e.g. 2 3)
#   With core numbers, also checks that those cores are isolated and nohz_full.
set -uo pipefail

ok=0
advice=0
say_ok()   { printf '  ok      %s\n' "$1"; ok=$((ok + 1)); }
say_warn() { printf '  ADVICE  %s\n' "$1"; shift; for l in "$@"; do printf '          %s\n' "$l"; done; advice=$((advice + 1)); }
say_info() { printf '  info    %s\n' "$1"; }
readf()    { [[ -r "$1" ]] && tr -d '\n' < "$1"; }

# Expands a kernel CPU list ("1-3,5") into "1 2 3 5".
expand_cpus() {
  local list="$1" out=() part a b
  IFS=',' read -ra parts <<< "$list"
  for part in "${parts[@]}"; do
    [[ -z "$part" ]] && continue
    if [[ "$part" == *-* ]]; then
      a=${part%-*}; b=${part#*-}
      for ((i = a; i <= b; i++)); do out+=("$i"); done
    else
      out+=("$part")
    fi
  done
  echo "${out[*]:-}"
}

hot_cores=("$@")
echo "ilinkd host check ($(uname -n), kernel $(uname -r), $(nproc) usable CPUs of $(nproc --all))"

echo "io_uring:"
kver=$(uname -r | sed 's/[^0-9.].*//')
kmaj=${kver%%.*}; kmin=$(echo "$kver" | cut -d. -f2)
if [[ -n "$kmaj" && -n "$kmin" ]] && (( kmaj > 6 || (kmaj == 6 && kmin >= 0) )); then
  say_ok "kernel $kver >= 6.0 (multishot receive, provided-buffer rings)"
else
  say_warn "kernel $kver is older than 6.0: the io_uring backend needs multishot receive" \
    "ilinkd falls back to the poll backend ([network] backend = \"auto\"); upgrade for io_uring"
fi
dis=$(readf /proc/sys/kernel/io_uring_disabled)
case "$dis" in
  0) say_ok "io_uring enabled (kernel.io_uring_disabled = 0)" ;;
  1) grp=$(readf /proc/sys/kernel/io_uring_group)
     say_warn "io_uring restricted (kernel.io_uring_disabled = 1): only CAP_SYS_ADMIN or group id ${grp:-?} may use it" \
       "run ilinkd in that group, or: sysctl -w kernel.io_uring_disabled=0" ;;
  2) say_warn "io_uring disabled (kernel.io_uring_disabled = 2): ilinkd will use the poll backend" \
       "to enable: sysctl -w kernel.io_uring_disabled=0 (persist in /etc/sysctl.d/)" ;;
  "") say_info "no /proc/sys/kernel/io_uring_disabled (kernel < 6.6): io_uring allowed unless seccomp forbids it" ;;
  *) say_info "kernel.io_uring_disabled = $dis (unknown value)" ;;
esac
seccomp=$(awk '/^Seccomp:/ {print $2}' /proc/self/status 2>/dev/null)
if [[ "$seccomp" == 2 ]]; then
  say_info "this shell runs under a seccomp filter (container?): io_uring_setup may be refused (EPERM); ilinkd logs the fallback"
fi

echo "memory locking:"
memlock=$(ulimit -l)
if [[ "$memlock" == unlimited ]]; then
  say_ok "RLIMIT_MEMLOCK unlimited"
elif (( memlock >= 65536 )); then
  say_ok "RLIMIT_MEMLOCK ${memlock} KiB (>= 64 MiB)"
else
  say_warn "RLIMIT_MEMLOCK is ${memlock} KiB: io_uring registered buffers (max_conns x send buffer, 4 MiB by default) and shared memory may not fit" \
    "systemd: LimitMEMLOCK=infinity in the unit; shell: /etc/security/limits.conf '<user> - memlock unlimited'"
fi

echo "cores:"
isolated=$(readf /sys/devices/system/cpu/isolated)
nohz=$(readf /sys/devices/system/cpu/nohz_full)
cmdline=$(readf /proc/cmdline)
if [[ -n "$isolated" ]]; then
  say_ok "isolated cores: $isolated"
else
  say_warn "no isolated cores: the hot threads share their cores with everything else" \
    "boot with isolcpus=<hot cores> nohz_full=<hot cores> rcu_nocbs=<hot cores> and set daemon.hot_cores to them"
fi
if [[ -n "$nohz" && "$nohz" != "(null)" ]]; then
  say_ok "nohz_full cores: $nohz"
else
  say_warn "no nohz_full cores: the scheduler tick interrupts the hot threads (~every 1-4 ms)" \
    "add nohz_full=<hot cores> (and rcu_nocbs=<hot cores>) to the kernel command line"
fi
if [[ "$cmdline" == *rcu_nocbs* ]]; then say_ok "rcu_nocbs set"; fi
if (( ${#hot_cores[@]} > 0 )); then
  iso_list=" $(expand_cpus "$isolated") "
  nohz_list=" $(expand_cpus "${nohz/(null)/}") "
  for c in "${hot_cores[@]}"; do
    if [[ ! -d /sys/devices/system/cpu/cpu$c ]]; then
      say_warn "hot core $c does not exist on this host: ilinkd will run its threads unpinned"
      continue
    fi
    [[ "$iso_list" == *" $c "* ]] && say_ok "hot core $c is isolated" \
      || say_warn "hot core $c is not isolated" "add it to isolcpus="
    [[ "$nohz_list" == *" $c "* ]] && say_ok "hot core $c is nohz_full" \
      || say_warn "hot core $c is not nohz_full" "add it to nohz_full="
  done
fi
smt=$(readf /sys/devices/system/cpu/smt/active)
if [[ "$smt" == 1 ]]; then
  say_info "SMT (hyper-threading) active: keep each hot core's sibling idle or offline it"
fi

echo "cpu frequency:"
govs=$(cat /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor 2>/dev/null | sort | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')
if [[ -z "$govs" ]]; then
  say_info "no cpufreq governor exposed (VM, container or fixed-frequency host)"
elif [[ "$govs" =~ ^performance\ x[0-9]+$ ]]; then
  say_ok "governor: $govs"
else
  say_warn "CPU frequency governor: $govs: cores clock down when idle and take time to ramp up" \
    "cpupower frequency-set -g performance (and consider disabling deep C-states: intel_idle.max_cstate=1 / processor.max_cstate=1)"
fi

echo "transparent hugepages:"
thp=$(readf /sys/kernel/mm/transparent_hugepage/enabled)
case "$thp" in
  *"[always]"*) say_warn "THP = always: khugepaged compaction and page collapsing can stall the hot threads" \
                  "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled (or never)" ;;
  *"[madvise]"*|*"[never]"*) say_ok "THP = $(echo "$thp" | sed 's/.*\[\(.*\)\].*/\1/')" ;;
  "") say_info "no /sys/kernel/mm/transparent_hugepage (not exposed here)" ;;
  *) say_info "THP = $thp" ;;
esac

echo "real-time scheduling:"
rtprio=$(ulimit -r)
if [[ $(id -u) == 0 ]]; then
  say_ok "SCHED_FIFO allowed (running as root; a dedicated user needs LimitRTPRIO= or CAP_SYS_NICE)"
elif [[ "$rtprio" == unlimited || "$rtprio" -gt 0 ]]; then
  say_ok "SCHED_FIFO allowed (RLIMIT_RTPRIO = $rtprio)"
else
  say_info "RLIMIT_RTPRIO = 0: SCHED_FIFO priorities will be refused (ilinkd logs it and runs on); systemd: LimitRTPRIO=, or CAP_SYS_NICE"
fi
rt_runtime=$(readf /proc/sys/kernel/sched_rt_runtime_us)
if [[ -n "$rt_runtime" && "$rt_runtime" != -1 ]]; then
  say_info "kernel.sched_rt_runtime_us = $rt_runtime: a busy SCHED_FIFO thread is throttled 5% of each second (-1 disables; only with isolated cores)"
fi

echo "summary: $ok ok, $advice advice"
exit 0

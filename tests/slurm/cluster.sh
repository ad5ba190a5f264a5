#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine, for the workflow's cluster tests.
#
#   tests/slurm/cluster.sh up       install (if missing), configure, start; wait until the node is idle
#   tests/slurm/cluster.sh status   exit 0 when the node answers idle (or busy), 1 otherwise
#   tests/slurm/cluster.sh down     stop every daemon that `up` starts
#
# Run as root on a Debian 12 machine without systemd (a container or a CI VM). Idempotent: a
# second `up` only checks, and restarts a daemon only when its configuration changed.
# Accounting goes through slurmdbd + MariaDB because the SLURM executor plugin reads job states
# with sacct. Two GPUs are declared as GRES, backed by character devices (the kernel's null
# device), so that GPU requests are scheduled and recorded; nothing can run CUDA on them.
set -euo pipefail

CLUSTER=labeldistill
PARTITION=debug
NODE=$(hostname -s)
GPUS=2
DB=slurm_acct_db
DB_USER=slurm
DB_PASS=labeldistill-test  # a local test database reachable only through localhost
SLURM_ETC=/etc/slurm        # fixed: the plugin strips SLURM_CONF inside jobs
STATE=/var/lib/slurm-labeldistill
LOGS=/var/log/slurm
PACKAGES=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server)
START=$EPOCHREALTIME

say() { printf 'cluster.sh [%5.1fs] %s\n' "$(awk "BEGIN {print $EPOCHREALTIME - $START}")" "$*" >&2; }
die() { say "error: $*"; exit 1; }
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds
    local deadline=$(($(date +%s) + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || die "timed out waiting for $what"
        sleep 0.5
    done
}

install_packages() {
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return
    say "installing ${missing[*]}"
    # Keep the packages' own scripts from starting daemons with their default configs.
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [ ! -e $policy ]; then
        printf '#!/bin/sh\nexit 101\n' >$policy && chmod +x $policy && own_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
        { [ $own_policy -eq 0 ] || rm -f $policy; die "apt-get install failed"; }
    [ $own_policy -eq 0 ] || rm -f $policy
    say "installed"
}

write_if_changed() {  # write_if_changed FILE MODE < content; prints "changed" when it did
    local file=$1 mode=$2 tmp
    tmp=$(mktemp)
    cat >"$tmp"
    if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
        rm -f "$tmp"
    else
        install -m "$mode" "$tmp" "$file" && rm -f "$tmp" && echo changed
    fi
}

configure() {
    mkdir -p "$SLURM_ETC" "$STATE/ctld" "$STATE/d" "$LOGS" /run/munge
    local cpus mem_mb
    cpus=$(nproc)
    # A little below the machine's memory: slurmd drains a node that claims more than it has.
    mem_mb=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
    for i in $(seq 0 $((GPUS - 1))); do
        [ -c "/dev/fakegpu$i" ] || mknod -m 666 "/dev/fakegpu$i" c 1 3
    done
    SLURM_CHANGED=$(write_if_changed "$SLURM_ETC/slurm.conf" 644 <<EOF
# One-node test cluster written by tests/slurm/cluster.sh; bound to localhost.
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
# Accounting: the executor plugin reads job states with sacct; the tests read requested TRES
# and the rule name (the job comment) from it. Memory is polled every second and a job that
# outgrows its --mem is killed, as on a production cluster.
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
JobCompType=jobcomp/none
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb Gres=gpu:$GPUS State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
# The same node again, for tests of the plugin's choice between CPU and GPU partitions.
PartitionName=gpu Nodes=$NODE MaxTime=INFINITE State=UP
EOF
    )
    SLURM_CHANGED+=$(write_if_changed "$SLURM_ETC/gres.conf" 644 <<EOF
NodeName=$NODE Name=gpu File=/dev/fakegpu[0-$((GPUS - 1))]
EOF
    )
    DBD_CHANGED=$(write_if_changed "$SLURM_ETC/slurmdbd.conf" 600 <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=root
PidFile=/run/slurmdbd.pid
LogFile=$LOGS/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=$DB_USER
StoragePass=$DB_PASS
StorageLoc=$DB
EOF
    )
}

start_munge() {
    # munged refuses a key or socket directory that others could write to.
    [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
    chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
    chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key && chmod 0755 /run/munge
    if ! running /run/munge/munged.pid; then
        runuser -u munge -- /usr/sbin/munged
        say "munged started"
    fi
    wait_for 20 munge bash -c 'munge -n | unmunge'
}

start_mariadb() {
    if ! mysqladmin ping >/dev/null 2>&1; then
        /etc/init.d/mariadb start >/dev/null
        say "mariadb started"
    fi
    wait_for 60 mariadb mysqladmin ping
    mysql -e "CREATE DATABASE IF NOT EXISTS $DB;
              CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
              GRANT ALL ON $DB.* TO '$DB_USER'@'localhost';"
}

start_slurm() {
    # A daemon whose configuration changed is stopped here and started again below.
    [ -z "$DBD_CHANGED" ] || stop_pidfile /run/slurmdbd.pid slurmdbd
    if ! running /run/slurmdbd.pid; then
        slurmdbd
        say "slurmdbd started"
    fi
    wait_for 60 slurmdbd sacctmgr -n list cluster
    if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
        sacctmgr -i add cluster "$CLUSTER" >/dev/null
    fi
    if [ -n "$SLURM_CHANGED" ]; then
        stop_pidfile /run/slurmd.pid slurmd
        stop_pidfile /run/slurmctld.pid slurmctld
    fi
    if ! running /run/slurmctld.pid; then
        slurmctld
        say "slurmctld started"
    fi
    wait_for 60 slurmctld scontrol ping
    if ! running /run/slurmd.pid; then
        slurmd
        say "slurmd started"
    fi
    wait_for 60 "node $NODE to be idle" node_ready
}

node_ready() {
    local state
    state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n 1)
    case "$state" in
        idle | mixed | allocated | completing) return 0 ;;
        down* | drain* | *fail*)
            # A node left down by an earlier run (a restart, an unclean stop) is put back.
            scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
            return 1 ;;
        *) return 1 ;;
    esac
}

stop_pidfile() {  # stop_pidfile PIDFILE NAME
    if running "$1"; then
        local pid
        pid=$(cat "$1")
        kill "$pid"
        wait_for 30 "$2 to stop" bash -c "! kill -0 $pid"
        say "$2 stopped"
    fi
    rm -f "$1"
}

case "${1:-}" in
    up)
        [ "$(id -u)" -eq 0 ] || die "run as root"
        install_packages
        configure
        start_munge
        start_mariadb
        start_slurm
        say "cluster $CLUSTER up: partitions $PARTITION (default) and gpu, node $NODE ($(nproc) CPUs, $GPUS GPUs)"
        ;;
    down)
        stop_pidfile /run/slurmd.pid slurmd
        stop_pidfile /run/slurmctld.pid slurmctld
        stop_pidfile /run/slurmdbd.pid slurmdbd
        if command -v mysqladmin >/dev/null && mysqladmin ping >/dev/null 2>&1; then
            /etc/init.d/mariadb stop >/dev/null && say "mariadb stopped"
        fi
        stop_pidfile /run/munge/munged.pid munged
        ;;
    status)
        command -v sinfo >/dev/null || { echo "SLURM is not installed"; exit 1; }
        for pidfile in /run/munge/munged.pid /run/slurmdbd.pid /run/slurmctld.pid /run/slurmd.pid; do
            if running "$pidfile"; then echo "$pidfile: running"; else echo "$pidfile: stopped"; fi
        done
        sinfo || exit 1
        node_ready
        ;;
    *)
        echo "usage: $0 up|down|status" >&2
        exit 2
        ;;
esac

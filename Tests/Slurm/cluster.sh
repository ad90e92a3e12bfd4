#!/bin/bash
# A throwaway one-node Slurm cluster on this machine, for Tests/Slurm/check.sh (CI runs it; as root):
#
#   Tests/Slurm/cluster.sh install   # Debian/Ubuntu: slurm-wlm (slurmctld, slurmd, clients) and munge
#   Tests/Slurm/cluster.sh start     # munge key, slurm.conf for this host, munged, slurmctld, slurmd;
#                                    # returns once the node is idle and a one-second job has run
#   Tests/Slurm/cluster.sh stop      # stops the daemons it started (the logs stay)
#
# The node is this host (its short hostname, at 127.0.0.1) with nproc CPUs, in one partition
# `lips`. The configuration fits containers: no cgroups (proctrack/linuxproc; task/affinity pins
# each task to its allocated cores, which lips takes as its workers), no accounting database (so
# no sacct: check.sh reads job states from scontrol), select/cons_tres over cores. Two settings shorten waits that only a test notices: a requeued job may start again
# after cred_expire (5 s here, 120 s by default), and the scheduler runs every 2 s. Slurm's state,
# spool and logs go to $LIPS_SLURM_DIR (default /var/lib/lips-slurm-test); slurm.conf to
# /etc/slurm/slurm.conf, and only when no slurm.conf is there or this script wrote the one there:
# never run `start` on a machine that has a real Slurm.
set -euo pipefail
DIR=${LIPS_SLURM_DIR:-/var/lib/lips-slurm-test}
CONF=/etc/slurm/slurm.conf
MARK="# Written by lips Tests/Slurm/cluster.sh: a one-node test cluster."
say() { echo "Tests/Slurm/cluster.sh: $*"; }
die() { echo "Tests/Slurm/cluster.sh: error: $*" >&2; exit 1; }
# alive PIDFILE: the pid file names a running process
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
# until_true SECONDS COMMAND...: polls COMMAND every half second; fails after SECONDS
until_true() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.5
    done
}
munge_works() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }
node_idle() { [ "$(sinfo -h -n "$HOST" -o %T 2>/dev/null)" = idle ]; }
logs() {
    for log in "$DIR"/slurmctld.log "$DIR"/slurmd.log; do
        [ -f "$log" ] && { echo "--- last lines of $log"; tail -n 15 "$log"; }
    done >&2
}

[ "$(id -u)" = 0 ] || [ "${1:-}" = "" ] || die "run as root (it starts daemons and writes $CONF)"
HOST=$(hostname -s)

case "${1:-}" in
install)
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
    say "installed $(dpkg-query -W -f '${Package} ${Version}' slurmctld), $(dpkg-query -W -f '${Package} ${Version}' munge)"
    ;;

start)
    for tool in munged slurmctld slurmd sinfo srun; do
        command -v "$tool" >/dev/null || die "$tool not found: run '$0 install' first (Debian/Ubuntu)"
    done
    if [ -e "$CONF" ] && ! grep -qxF "$MARK" "$CONF"; then
        die "$CONF exists and was not written by this script: this machine has a Slurm setup of its own; not touching it"
    fi
    mkdir -p "$DIR/state" "$DIR/spool" /etc/slurm

    # munge: the key (Debian's package makes one), then the daemon unless one already answers.
    if ! munge_works; then
        if [ ! -s /etc/munge/munge.key ]; then
            mungekey --create --keyfile=/etc/munge/munge.key
            chown munge:munge /etc/munge/munge.key
            chmod 600 /etc/munge/munge.key
        fi
        mkdir -p /run/munge
        chown munge:munge /run/munge
        runuser -u munge -- munged
        touch "$DIR/munged.started-here"
        until_true 20 munge_works || die "munged does not answer (munge -n | unmunge)"
    fi

    cpus=$(nproc)
    memory=$(awk '/^MemTotal:/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
    cat >"$CONF" <<EOF
$MARK
# Tests/Slurm/cluster.sh stop stops it; this file may then be deleted.
ClusterName=lips-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=cred_expire=5
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=600
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=lips Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

    if alive "$DIR/slurmctld.pid"; then
        say "slurmctld already running; rereading $CONF"
        scontrol reconfigure
    else
        slurmctld -c || { logs; die "slurmctld did not start"; }   # -c: no jobs left from an earlier start
    fi
    if ! alive "$DIR/slurmd.pid"; then
        slurmd -c || { logs; die "slurmd did not start"; }
    fi
    if ! until_true 60 node_idle; then
        sinfo -N -l >&2 || true
        sinfo -R >&2 || true
        logs
        die "node $HOST is not idle after 60 s"
    fi
    if ! timeout 60 srun --time=1 --ntasks=1 true; then
        logs
        die "a one-task job (srun true) failed"
    fi
    say "one-node cluster up: node $HOST, $cpus CPUs, partition lips (logs in $DIR)"
    ;;

stop)
    if alive "$DIR/slurmctld.pid" || alive "$DIR/slurmd.pid"; then
        scontrol shutdown >/dev/null 2>&1 || true          # ends slurmctld and every slurmd
        for daemon in slurmctld slurmd; do
            if ! until_true 30 eval "! alive '$DIR/$daemon.pid'"; then
                say "$daemon did not stop after scontrol shutdown; sending SIGTERM"
                kill "$(cat "$DIR/$daemon.pid")" 2>/dev/null || true
            fi
        done
    fi
    if [ -f "$DIR/munged.started-here" ]; then
        if alive /run/munge/munged.pid; then kill "$(cat /run/munge/munged.pid)"; fi
        rm -f "$DIR/munged.started-here"
    fi
    say "stopped (logs in $DIR)"
    ;;

*)
    echo "usage: $0 install | start | stop   (as root)" >&2
    exit 2
    ;;
esac

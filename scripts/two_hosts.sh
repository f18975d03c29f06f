#!/usr/bin/env bash
# Two "machines" on this one, for trying the MPI mode as it runs across hosts: network
# namespaces hogwild-a and hogwild-b joined by a veth pair (10.213.7.1 and 10.213.7.2, no other
# route), each side with a hostname of its own (UTS namespace). mpirun runs on host-a with a
# hostfile naming both addresses; OpenMPI's rsh agent (plm_rsh_agent, normally ssh) is this
# script itself, which runs the remote OpenMPI daemon in hogwild-b: the same commands a user
# runs on two hosts. Ranks talk over TCP on the veth pair only. Needs root and iproute2.
#   scripts/two_hosts.sh BINARY ARGS...     (prints mpirun's output; removes what it made)
set -euo pipefail
if [ "${1:-}" = "--agent" ]; then  # called by mpirun: [options] HOST COMMAND...
  shift
  while [ "${1#-}" != "$1" ]; do shift; done
  shift  # the host: always hogwild-b here
  exec ip netns exec hogwild-b unshare --uts sh -c "hostname host-b; $*"
fi

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
cleanup() {
  ip netns del hogwild-a 2>/dev/null || true
  ip netns del hogwild-b 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
cleanup
tmp=$(mktemp -d)
ip netns add hogwild-a
ip netns add hogwild-b
ip link add hw-veth-a netns hogwild-a type veth peer name hw-veth-b netns hogwild-b
ip -n hogwild-a addr add 10.213.7.1/30 dev hw-veth-a
ip -n hogwild-b addr add 10.213.7.2/30 dev hw-veth-b
for ns in hogwild-a hogwild-b; do
  ip -n $ns link set lo up
done
ip -n hogwild-a link set hw-veth-a up
ip -n hogwild-b link set hw-veth-b up
printf '10.213.7.1 slots=1\n10.213.7.2 slots=1\n' > "$tmp/hostfile"

ip netns exec hogwild-a unshare --uts sh -c "hostname host-a; \
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 exec mpirun --hostfile $tmp/hostfile \
  --mca plm_rsh_agent '$here/two_hosts.sh --agent' --mca btl self,tcp \
  --mca btl_tcp_if_include 10.213.7.0/30 --mca oob_tcp_if_include 10.213.7.0/30 \
  --bind-to none -np 2 $*"

# A Redis Cluster for the test services (sourced by scripts/services; loopback only, not in netns mode):
#   rc1-rc6  127.0.0.1:7001-7006  three masters with one replica each (redis-cli --cluster create), the same TLS
#            and ACL users as the Sentinel-managed servers, cluster bus over TLS, cluster-node-timeout 1 s (a
#            dead master's replica is promoted within about 2 s). The history's cluster mode is tested on it
#            (AEROGUARD_REDIS_CLUSTER lists the nodes).
# Writes need no replica here (min-replicas-to-write 0): with one replica per master, a promoted replica has
# none until the old master returns, and the history would stop; callers that must not lose an acknowledged
# point ask for Durability::Replicas, which WAITs on the slot's master (see DESIGN.md, "History on Redis Cluster").

CLUSTER_NODES=(rc1 rc2 rc3 rc4 rc5 rc6)

cluster_port_of() { echo $((7000 + ${1#rc})); }

# The commands the library's user needs on cluster nodes beyond the Sentinel set: the client learns the slot
# map (CLUSTER SLOTS / SHARDS / NODES) and follows ASK redirections during resharding.
CLUSTER_CLIENT_COMMANDS="+cluster|slots +cluster|shards +cluster|nodes +cluster|myid +asking +readonly +readwrite"

write_cluster_config() {
  local node="$1" d="$DIR/$1" port; port="$(cluster_port_of "$1")"
  mkdir -p "$d"
  # Redis rewrites nodes.conf as the cluster changes: write the config once.
  [[ -f "$d/redis.conf" ]] && return 0
  {
    listen_config "$port"
    if [[ "$TLS" == 1 ]]; then echo "tls-cluster yes"; fi
    echo "bind 127.0.0.1"
    echo "dir $d"
    echo 'save ""'
    echo "appendonly no"
    echo "daemonize no"
    echo "logfile $d/redis.log"
    echo "cluster-enabled yes"
    echo "cluster-config-file $d/nodes.conf"
    echo "cluster-node-timeout 1000"
    # A replica may take over however long it was cut off (the test cluster has one replica per master).
    echo "cluster-replica-validity-factor 0"
    echo "min-replicas-to-write 0"
    REDIS_LIBRARY_COMMANDS="$REDIS_LIBRARY_COMMANDS $CLUSTER_CLIENT_COMMANDS" redis_users
  } >"$d/redis.conf"
  chmod 600 "$d/redis.conf"
}

start_cluster_node() {
  write_cluster_config "$1"
  launch "$1" redis-server "$DIR/$1/redis.conf"
}

# CLUSTER INFO's field `$2` on node `$1`.
cluster_info() { redis_cli "$(cluster_port_of "$1")" CLUSTER INFO | tr -d '\r' | sed -n "s/^$2://p"; }

# Forms the cluster once: every node up and alone (a fresh state folder), then three masters with a replica each.
cluster_create() {
  local node addrs=()
  for node in "${CLUSTER_NODES[@]}"; do
    [[ "$(redis_cli "$(cluster_port_of "$node")" PING)" == PONG ]] || return 1
    addrs+=("127.0.0.1:$(cluster_port_of "$node")")
  done
  [[ "$(cluster_info rc1 cluster_known_nodes)" == 1 && "$(cluster_info rc1 cluster_slots_assigned)" == 0 ]] || return 0
  log "creating the Redis Cluster (3 masters, 1 replica each)"
  local tls=() auth=() password=()
  if [[ -f "$TLS_DIR/ca.crt" ]]; then tls=(--tls --cacert "$TLS_DIR/ca.crt"); fi
  # Plain services have no users: an empty REDISCLI_AUTH would still send AUTH and be refused.
  if [[ -n "$(credential AEROGUARD_REDIS_ADMIN)" ]]; then
    auth=(--user "$(user_of AEROGUARD_REDIS_ADMIN)")
    password=("REDISCLI_AUTH=$(pass_of AEROGUARD_REDIS_ADMIN)")
  fi
  env "${password[@]}" redis-cli "${tls[@]}" "${auth[@]}" --cluster create "${addrs[@]}" \
    --cluster-replicas 1 --cluster-yes >"$DIR/rc1/create.log" 2>&1 \
    || die "redis-cli --cluster create failed (log: $DIR/rc1/create.log)"
}

# Every node says the cluster is ok, and three masters hold slots, each with a replica whose link is up.
cluster_converged() {
  cluster_create || return 1
  local node other
  # A handshake that does not finish within the node timeout (one second here, easily passed while the JVMs of
  # the ensemble start on two cores) is dropped on one side only: the other side knows its peer, the peer
  # never learns it, and gossip does not repair that. Introduce such a node to every other again.
  for node in "${CLUSTER_NODES[@]}"; do
    if [[ "$(cluster_info "$node" cluster_known_nodes)" != "${#CLUSTER_NODES[@]}" ]]; then
      for other in "${CLUSTER_NODES[@]}"; do
        redis_cli "$(cluster_port_of "$node")" CLUSTER MEET 127.0.0.1 "$(cluster_port_of "$other")" >/dev/null
      done
    fi
  done
  for node in "${CLUSTER_NODES[@]}"; do
    [[ "$(cluster_info "$node" cluster_state)" == ok ]] || return 1
  done
  local nodes masters replicas
  nodes="$(redis_cli 7001 CLUSTER NODES | tr -d '\r')"
  masters="$(echo "$nodes" | awk '$3 ~ /master/ && $3 !~ /fail/ && $8 == "connected" && NF > 8' | wc -l)"
  replicas="$(echo "$nodes" | awk '$3 ~ /slave/ && $3 !~ /fail/ && $8 == "connected"' | wc -l)"
  [[ "$masters" -eq 3 && "$replicas" -eq 3 ]] || return 1
  for node in "${CLUSTER_NODES[@]}"; do
    if redis_cli "$(cluster_port_of "$node")" ROLE | head -1 | grep -q slave; then
      redis_cli "$(cluster_port_of "$node")" INFO replication | grep -q 'master_link_status:up' || return 1
    fi
  done
}
CLUSTER_ADDRESSES="127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003,127.0.0.1:7004,127.0.0.1:7005,127.0.0.1:7006"

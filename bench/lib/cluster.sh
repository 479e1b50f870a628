# shellcheck shell=bash
# A Sprig cluster on this machine for the benchmarks: api-server on the nodes backend (its embedded
# PostgreSQL in $work/postgres) with up to four storage-node processes that register with it, or on
# its embedded backend (api_backend=embedded), and `sprig-agent serve`. Sourced by bench/replicas,
# bench/recovery and bench/boot after they set $work and `cd` to the repository; they build the
# jars and own the cleanup (stop "$api_pid" etc.).
#
# After cluster_init: $api (URL), $key and $admin (API and admin keys), $agent_port, node_http[i]
# and node_nbd[i] (free ports on 127.0.0.1, as is $api_nbd_port), agent=(the agent's command), SPRIG_API and
# SPRIG_API_KEY exported for it; start_* set api_pid, node_pids[i] and agent_pid.

api_pid=""; agent_pid=""; node_pids=()
# the interpreter itself, not a version manager's shim (pyenv's took 0.3 s of CPU a call): the
# benchmarks' polling must not take the CPU of the cluster they measure
py="$(python3 -c 'import sys; print(sys.executable)')"
python3() { "$py" "$@"; }
node_extra=() # more storage-node options, for every node started

stop() { # pid: TERM, then reap
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

cluster_init() {
  local a d1 d2 d3 d4 n1 n2 n3 n4
  read -r a agent_port n1 n2 n3 n4 d1 d2 d3 d4 api_nbd_port < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(11)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
)
  node_http=("$n1" "$n2" "$n3" "$n4"); node_nbd=("$d1" "$d2" "$d3" "$d4")
  api_port="$a"; api="http://127.0.0.1:$api_port"
  key="bench-$RANDOM$RANDOM$RANDOM"; admin="bench-admin-$RANDOM$RANDOM$RANDOM"
  export SPRIG_API="$api" SPRIG_API_KEY="$key"
  agent=(java -jar client-agent/target/sprig-agent.jar)
}

alive() { # pid name log: exits the bench with the log's end when the process has gone
  kill -0 "$1" 2>/dev/null && return 0
  echo "$2 exited; the end of $3:" >&2; tail -20 "$3" >&2; exit 1
}

failure_logs() { # bench name: after a failure, the end of api-server's log and the warnings of the others
  local log
  [ -f "$work/api-server.log" ] || return 0
  echo "$1 failed; the end of api-server's log:" >&2
  grep -v '^\s*at ' "$work/api-server.log" | tail -15 >&2
  for log in "$work"/sprig-agent.log "$work"/node[0-9].log; do
    [ -f "$log" ] || continue
    if grep -qE 'WARN|ERROR' "$log"; then
      echo "the last warnings in ${log##*/}:" >&2
      grep -E 'WARN|ERROR' "$log" | tail -8 >&2
    fi
  done
}

api_backend=nodes # or embedded: api-server's own storage engine in $work/engine, NBD on $api_nbd_port

start_api() { # extra api-server options...
  local backend=(--sprig.api.backend.type=nodes)
  [ "$api_backend" = nodes ] ||
    backend=(--sprig.node.nbd.port="$api_nbd_port" --sprig.api.backend.embedded.data-dir="$work/engine")
  java -jar api-server/target/api-server.jar --server.port="$api_port" --sprig.api.api-keys="$key" \
    --sprig.api.admin-keys="$admin" "${backend[@]}" \
    --sprig.api.database.embedded.data-dir="$work/postgres" "$@" >>"$work/api-server.log" 2>&1 &
  api_pid=$!
  for _ in $(seq 240); do
    alive "$api_pid" api-server "$work/api-server.log"
    curl -sf "$api/actuator/health" >/dev/null && return 0
    sleep 0.5
  done
  echo "api-server did not come up:" >&2; tail -20 "$work/api-server.log" >&2; exit 1
}

nodes_up() {
  curl -sf -H "Authorization: Bearer $admin" "$api/v1/nodes" | grep -o '"state":"up"' | wc -l || true
}

await_nodes() { # count
  local up=0
  for _ in $(seq 120); do
    up="$(nodes_up)"
    [ "$up" -ge "$1" ] && return 0
    sleep 0.5
  done
  echo "only $up of $1 storage nodes are up" >&2; exit 1
}

issue_credential() { # index (0-3): prints the credential node<index> registers with
  local credential
  credential="$(curl -sf -X POST -H "Authorization: Bearer $admin" "$api/v1/nodes/node$1:issueCredential" |
    sed 's/.*"credential":"\([^"]*\)".*/\1/')"
  [ -n "$credential" ] || { echo "issuing a credential for node$1 failed" >&2; exit 1; }
  echo "$credential"
}

start_node() { # index (0-3), credential: node<index>, data in $work/node<index>, log in $work/node<index>.log
  local i="$1"
  java -jar storage-node/target/storage-node-exec.jar --server.port="${node_http[$i]}" \
    --sprig.node.nbd.port="${node_nbd[$i]}" --sprig.node.data-dir="$work/node$i" \
    --sprig.node.token="bench-node-token-$i-$key" \
    --sprig.node.registry.url="$api" --sprig.node.registry.credential="$2" \
    --sprig.node.registry.node-id="node$i" \
    --sprig.node.registry.advertised-http-endpoint="http://127.0.0.1:${node_http[$i]}" \
    --sprig.node.registry.advertised-nbd-host=127.0.0.1 "${node_extra[@]}" >>"$work/node$i.log" 2>&1 &
  node_pids[$i]=$!
}

uri() { echo "nbd://127.0.0.1:$agent_port/$1"; } # disk

start_agent() { # disk to wait for: the agent serves it
  "${agent[@]}" serve --listen "127.0.0.1:$agent_port" >"$work/sprig-agent.log" 2>&1 &
  agent_pid=$!
  for _ in $(seq 240); do
    alive "$agent_pid" sprig-agent "$work/sprig-agent.log"
    nbdinfo --size "$(uri "$1")" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  echo "sprig-agent does not serve $1:" >&2; tail -20 "$work/sprig-agent.log" >&2; exit 1
}

members() { # disk: the number of members of each column, e.g. "3 3 3"
  curl -sf -H "Authorization: Bearer $key" "$api/v1/disks/$1" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(str(len(c["members"])) for c in d["replicas"]["columns"]))'
}

# jit_settled compile-seconds wall-seconds: whether the JIT compilers worked less than a twentieth
# of that time (the warm-up loops of bench/replicas and bench/recovery stop there)
jit_settled() { python3 -c "import sys; sys.exit(0 if $1 < $2 / 20 else 1)"; }

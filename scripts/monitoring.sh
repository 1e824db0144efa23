# Alertmanager and Prometheus for the test services (sourced by scripts/services; loopback only):
#   alertmanager  127.0.0.1:9093  the v2 API behind HTTP basic auth (AEROGUARD_ALERTMANAGER_AUTH), no gossip;
#                 one route to a receiver that notifies nobody: tests read what it holds through its API
#   prometheus    127.0.0.1:9090  its API behind HTTP basic auth (AEROGUARD_PROMETHEUS_AUTH); scrapes every
#                 second the targets tests list in $AEROGUARD_PROMETHEUS_TARGETS/*.json (file_sd), sending the
#                 bearer key AEROGUARD_SCRAPE_KEY (the AeroGuard endpoints accept it as a reader's key)
# Both are Debian's packages (prometheus 2.42, prometheus-alertmanager 0.25), started by the pids recorded here.

MONITOR_NODES=(alertmanager prometheus)

monitor_have_all() { [[ -x /usr/bin/prometheus && -x /usr/bin/prometheus-alertmanager ]] && command -v curl >/dev/null; }

monitor_install() {
  monitor_have_all && return 0
  log "installing prometheus, prometheus-alertmanager from Debian packages"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager \
    curl >/dev/null
  monitor_have_all || die "install finished but prometheus or prometheus-alertmanager is still missing"
}

# The credentials lines of the monitoring services (appended to the credentials file once).
monitor_credentials() {
  if [[ "$PLAIN" == 1 ]]; then
    printf '%s\n' AEROGUARD_ALERTMANAGER_AUTH= AEROGUARD_PROMETHEUS_AUTH= AEROGUARD_SCRAPE_KEY=
  else
    echo "AEROGUARD_ALERTMANAGER_AUTH=aeroguard:$(random_secret)"
    echo "AEROGUARD_PROMETHEUS_AUTH=reader:$(random_secret)"
    echo "AEROGUARD_SCRAPE_KEY=$(random_secret)$(random_secret)"
  fi
  echo "AEROGUARD_PROMETHEUS_TARGETS=$DIR/prometheus/targets"
}

# An exporter-toolkit web config (HTTP basic auth, bcrypt) for `credential`, or nothing in plain mode.
web_config() {
  local file="$1" c; c="$(credential "$2")"
  [[ -n "$c" ]] || return 0
  local hash
  hash="$(python3 -c 'import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2**10)))' \
    "${c#*:}" 2>/dev/null)" || die "python3 could not make a bcrypt hash for $2"
  (umask 077; printf 'basic_auth_users:\n  %s: %s\n' "${c%%:*}" "$hash" >"$file")
  echo "--web.config.file=$file"
}

start_monitor_node() {
  local node="$1" d="$DIR/$1" web
  mkdir -p "$d"
  case "$node" in
    alertmanager)
      cat >"$d/alertmanager.yml" <<'CFG'
route:
  receiver: nobody
  group_by: [alertname, series]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: nobody
CFG
      web="$(web_config "$d/web.yml" AEROGUARD_ALERTMANAGER_AUTH)"
      launch "$node" /usr/bin/prometheus-alertmanager --config.file="$d/alertmanager.yml" --storage.path="$d/data" \
        --web.listen-address=127.0.0.1:9093 --cluster.listen-address= $web
      ;;
    prometheus)
      mkdir -p "$d/targets"
      local auth=""
      if [[ -n "$(credential AEROGUARD_SCRAPE_KEY)" ]]; then
        (umask 077; credential AEROGUARD_SCRAPE_KEY >"$d/scrape.key")
        auth="    authorization:
      type: Bearer
      credentials_file: $d/scrape.key"
      fi
      cat >"$d/prometheus.yml" <<CFG
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: aeroguard
$auth
    file_sd_configs:
      - files: ["$d/targets/*.json"]
        refresh_interval: 1s
CFG
      web="$(web_config "$d/web.yml" AEROGUARD_PROMETHEUS_AUTH)"
      launch "$node" /usr/bin/prometheus --config.file="$d/prometheus.yml" --storage.tsdb.path="$d/data" \
        --web.listen-address=127.0.0.1:9090 $web
      ;;
  esac
}

# Whether a monitoring node answers its readiness endpoint (with its credentials).
monitor_ready() {
  local port c
  case "$1" in
    alertmanager) port=9093; c="$(credential AEROGUARD_ALERTMANAGER_AUTH)" ;;
    prometheus) port=9090; c="$(credential AEROGUARD_PROMETHEUS_AUTH)" ;;
  esac
  # The password goes through curl's config on stdin, not its command line (which `ps` shows).
  if [[ -n "$c" ]]; then printf 'user = "%s"\n' "$c"; fi \
    | curl -sf -m 2 -K - "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1
}

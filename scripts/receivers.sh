# Receivers for the notifiers' tests (sourced by scripts/services; loopback only), each with a certificate
# from the receivers' own test CA (AEROGUARD_RECEIVERS_CA) and a credential, whatever the services' mode:
#   smtp     127.0.0.1:2525  an SMTP server (Debian's python3-aiosmtpd, scripts/receivers/smtp.py) that requires
#            STARTTLS, then AUTH as AEROGUARD_SMTP_AUTH; each message it takes is a file in
#            AEROGUARD_SMTP_INBOX
#   webhook  127.0.0.1:8443  an HTTPS receiver (python3's http.server, scripts/receivers/webhook.py) that
#            requires the bearer token AEROGUARD_WEBHOOK_TOKEN; each POST is a line of AEROGUARD_WEBHOOK_LOG

RECEIVER_NODES=(smtp webhook)
RECEIVERS_DIR="$DIR/receivers"
# Debian's own interpreter, which Debian's python3-aiosmtpd is installed for (a `python3` earlier on the PATH,
# from pyenv or a virtualenv, does not see it).
RECEIVERS_PYTHON=/usr/bin/python3

receivers_have_all() { "$RECEIVERS_PYTHON" -c 'import aiosmtpd' 2>/dev/null; }

receivers_install() {
  receivers_have_all && return 0
  log "installing python3-aiosmtpd from Debian packages"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-aiosmtpd >/dev/null
  receivers_have_all || die "install finished but $RECEIVERS_PYTHON cannot import aiosmtpd"
}

# The receivers' credentials and places (appended to the credentials file once, in every mode).
receiver_credentials() {
  echo "AEROGUARD_SMTP_AUTH=mailer:$(random_secret)"
  echo "AEROGUARD_WEBHOOK_TOKEN=$(random_secret)$(random_secret)"
  echo "AEROGUARD_RECEIVERS_CA=$RECEIVERS_DIR/ca.crt"
  echo "AEROGUARD_SMTP_INBOX=$DIR/smtp/inbox"
  echo "AEROGUARD_WEBHOOK_LOG=$DIR/webhook/received.jsonl"
}

# A CA of the receivers' own and one server certificate for localhost and 127.0.0.1, made once per state folder.
receiver_certificates() {
  [[ -f "$RECEIVERS_DIR/server.crt" ]] && return 0
  mkdir -p "$RECEIVERS_DIR"
  (umask 077
   openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=AeroGuard receivers test CA" \
     -keyout "$RECEIVERS_DIR/ca.key" -out "$RECEIVERS_DIR/ca.crt" 2>/dev/null
   openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
     -keyout "$RECEIVERS_DIR/server.key" -out "$RECEIVERS_DIR/server.csr" 2>/dev/null
   printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$RECEIVERS_DIR/ext.cnf"
   openssl x509 -req -in "$RECEIVERS_DIR/server.csr" -CA "$RECEIVERS_DIR/ca.crt" -CAkey "$RECEIVERS_DIR/ca.key" \
     -CAcreateserial -days 30 -extfile "$RECEIVERS_DIR/ext.cnf" -out "$RECEIVERS_DIR/server.crt" 2>/dev/null)
  chmod 644 "$RECEIVERS_DIR/ca.crt"
}

start_receiver_node() {
  local node="$1" d="$DIR/$1" here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  receiver_certificates
  mkdir -p "$d"
  case "$node" in
    smtp)
      (umask 077; credential AEROGUARD_SMTP_AUTH >"$d/auth")
      launch "$node" "$RECEIVERS_PYTHON" "$here/receivers/smtp.py" --port 2525 --cert "$RECEIVERS_DIR/server.crt" \
        --key "$RECEIVERS_DIR/server.key" --inbox "$d/inbox" --auth-file "$d/auth"
      ;;
    webhook)
      (umask 077; credential AEROGUARD_WEBHOOK_TOKEN >"$d/token")
      launch "$node" "$RECEIVERS_PYTHON" "$here/receivers/webhook.py" --port 8443 --cert "$RECEIVERS_DIR/server.crt" \
        --key "$RECEIVERS_DIR/server.key" --log "$d/received.jsonl" --token-file "$d/token"
      ;;
  esac
}

# Whether a receiver answers: the SMTP server's greeting, the webhook's /ready over TLS.
receiver_ready() {
  case "$1" in
    smtp) timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/2525 && head -c 3 <&3' 2>/dev/null | grep -q 220 ;;
    webhook) curl -sf -m 2 --cacert "$RECEIVERS_DIR/ca.crt" https://127.0.0.1:8443/ready >/dev/null 2>&1 ;;
  esac
}

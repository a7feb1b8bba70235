#!/usr/bin/env bash
# Install, start and load-test one peer system beside kapu; see README.md.
#   bench/peers/run.sh privacyidea|oidc-provider|lemonldap OUT.json
# Writes OUT.json ({"peer","version","ok","error","figures"}) and exits 0, also
# when the peer cannot run (then ok=false and error says why). Exit 2: usage.
set -Eeuo pipefail

usage() {
  echo "usage: $0 privacyidea|oidc-provider|lemonldap OUT.json" >&2
  exit 2
}
[[ $# -eq 2 ]] || usage
PEER=$1
case $PEER in privacyidea | oidc-provider | lemonldap) ;; *) usage ;; esac
[[ -n $2 ]] || usage
mkdir -p "$(dirname "$2")" || usage
OUT="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BENCH_DIR="${KAPU_BENCH_DIR:-$REPO/target/bench}"
DIR="$BENCH_DIR/peers/$PEER"
STATE="$DIR/state" # this run's config, data and sockets (made anew each run)
LOG="$DIR/server.log"   # the peer's own output (kept after the run)
LOADLOG="$DIR/load.log" # the load generator's progress (kept after the run)

# Tunables (defaults chosen on a 2-core machine; see README.md).
WARM_S="${KAPU_PEER_WARM_S:-3}"
SECONDS_MEASURED="${KAPU_PEER_SECONDS:-15}"
START_WAIT_S="${KAPU_PEER_START_WAIT_S:-60}"
LOAD_TIMEOUT_S="${KAPU_PEER_LOAD_TIMEOUT_S:-180}"
INSTALL_TIMEOUT_S="${KAPU_PEER_INSTALL_TIMEOUT_S:-900}"
SERVER_CORE="${KAPU_PEER_SERVER_CORE:-0}"
LOAD_CORE="${KAPU_PEER_LOAD_CORE:-1}"

VERSION=""
DONE=0
PIDS=()
LOAD_PID=""
LAST_ERR=""

say() { echo "peers/$PEER: $*" >&2; }

# The one place that writes OUT.json. $1 ok (true|false), $2 error, $3 file
# holding the load generator's {"figures":[...]} (or empty).
write_out() {
  python3 - "$OUT" "$PEER" "$VERSION" "$1" "$2" "${3:-}" <<'PY'
import json, sys
out, peer, version, ok, error, figs = sys.argv[1:7]
figures = []
if ok == "true":
    with open(figs) as f:
        figures = json.load(f)["figures"]
doc = {"peer": peer, "version": version or None, "ok": ok == "true",
       "error": None if ok == "true" else (" ".join(error.split()) or "unknown error"),
       "figures": figures}
with open(out + ".tmp", "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
import os
os.replace(out + ".tmp", out)
PY
  DONE=1
}

# Give up on this peer: OUT.json says why, exit 0.
fail() {
  say "FAILED: $*"
  write_out false "$*"
  exit 0
}

stop_all() {
  local pid i
  for pid in "${PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for i in $(seq 1 50); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 -- "-$pid" 2>/dev/null; then
      say "process group $pid did not stop on TERM, killing it"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  done
  PIDS=()
}

on_exit() {
  local rc=$?
  trap - ERR
  set +e
  if [[ -n $LOAD_PID ]]; then
    kill -TERM "$LOAD_PID" 2>/dev/null
    wait "$LOAD_PID" 2>/dev/null
  fi
  stop_all
  if [[ $DONE -eq 0 ]]; then
    write_out false "run.sh stopped unexpectedly (exit $rc${LAST_ERR:+, $LAST_ERR}); peer log: $LOG"
  fi
  exit 0
}
trap on_exit EXIT
trap 'LAST_ERR="line $LINENO: $BASH_COMMAND"' ERR
trap 'LAST_ERR="interrupted"; exit 130' INT TERM HUP

# Start "$@" in its own session (so its whole process tree can be stopped by
# its id), pinned to the server core, output appended to $LOG.
start_server() {
  setsid taskset -c "$SERVER_CORE" "$@" >>"$LOG" 2>&1 </dev/null &
  PIDS+=("$!")
}

# One line of the peer log that most likely says what went wrong.
log_hint() {
  local line
  line=$(grep -E 'Error|error|ERROR|Exception|Traceback|failed|denied|refused|emerg|Can.t ' "$LOG" 2>/dev/null | grep -v 'Initialization failed' | tail -n 1 || true)
  [[ -n $line ]] || line=$(tail -n 1 "$LOG" 2>/dev/null || true)
  printf '%s' "$line" | tr -d '\r' | cut -c1-220
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

need_free_port() {
  if port_in_use "$1"; then
    fail "port 127.0.0.1:$1 is already in use (set KAPU_PEER_PORT to another one)"
  fi
}

# Wait until URL answers with HTTP status $2 (default 200), bounded.
wait_http() {
  local url=$1 want=${2:-200} host=${3:-} code pid t0=$SECONDS
  while ((SECONDS - t0 < START_WAIT_S)); do
    for pid in "${PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null || fail "the server exited while starting: $(log_hint) (log: $LOG)"
    done
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 ${host:+-H "Host: $host"} "$url" || true)
    if [[ $code == "$want" ]]; then
      say "up after $((SECONDS - t0)) s: $url"
      return 0
    fi
    sleep 0.5
  done
  fail "no HTTP $want from $url within $START_WAIT_S s (last: ${code:-none}; $(log_hint); log: $LOG)"
}

# Run a load generator pinned to the load core; its JSON goes to $STATE/load.json.
# $1 time limit in seconds, $2 script, then NAME=value settings for it.
run_load() {
  local limit=$1 script=$2 rc=0
  shift 2
  say "load: $script (core $LOAD_CORE)"
  # In the background and waited for, so that a signal to this script is
  # handled at once (the EXIT trap then stops the generator too).
  env SERVER_SIDS="${PIDS[*]}" "$@" timeout "$limit" taskset -c "$LOAD_CORE" node "$HERE/$script" >"$STATE/load.json" 2> >(tee -a "$LOADLOG" >&2) &
  LOAD_PID=$!
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=""
  local err
  err=$(python3 -c 'import json,sys
try:
    d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
except Exception:
    d = {}
print(d.get("error") or ("" if isinstance(d.get("figures"), list) else "no result"))' "$STATE/load.json")
  if [[ $rc -eq 124 ]]; then fail "load generator timed out after $limit s (log: $LOADLOG, peer log: $LOG)"; fi
  if [[ $rc -ne 0 || -n $err ]]; then fail "load failed: ${err:-exit $rc} (load log: $LOADLOG, peer log: $LOG)"; fi
  tail -n 1 "$STATE/load.json" >"$STATE/figures.json"
}

# apt-get install, with apt-get update only if the install fails without it.
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if ! timeout "$INSTALL_TIMEOUT_S" apt-get install -y "$@" >>"$DIR/install.log" 2>&1; then
    say "apt-get install failed; running apt-get update and trying again"
    timeout "$INSTALL_TIMEOUT_S" apt-get update >>"$DIR/install.log" 2>&1 || true
    timeout "$INSTALL_TIMEOUT_S" apt-get install -y "$@" >>"$DIR/install.log" 2>&1 ||
      fail "apt-get install $* failed: $(grep -E '^E:' "$DIR/install.log" | tail -n 1 | cut -c1-200) (log: $DIR/install.log)"
  fi
}

# Run an install step, saying how long it took.
timed_install() {
  local t0=$SECONDS
  say "installing into $DIR (log: $DIR/install.log)"
  "$@"
  say "installed in $((SECONDS - t0)) s"
}

for tool in python3 node curl taskset setsid timeout; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done
[[ $(nproc) -ge 2 ]] || say "warning: fewer than 2 cores; server and load generator share one"
mkdir -p "$DIR"
: >"$LOG"
: >"$LOADLOG"
rm -rf "$STATE"
mkdir -p "$STATE"
t_start=$SECONDS

# ---------------------------------------------------------------- privacyIDEA
PI_VERSION_PIN="${KAPU_PEER_PRIVACYIDEA_VERSION:-3.14}"
pi_install() {
  rm -rf "$DIR/venv"
  timeout "$INSTALL_TIMEOUT_S" python3 -m venv "$DIR/venv" >>"$DIR/install.log" 2>&1 || fail "python3 -m venv failed (log: $DIR/install.log)"
  timeout "$INSTALL_TIMEOUT_S" "$DIR/venv/bin/pip" install --disable-pip-version-check "privacyidea==$PI_VERSION_PIN" gunicorn >>"$DIR/install.log" 2>&1 ||
    fail "pip install privacyidea==$PI_VERSION_PIN failed: $(grep -E 'ERROR' "$DIR/install.log" | tail -n 1 | cut -c1-200) (log: $DIR/install.log)"
}

# Enrolled state (config, keys, SQLite with users and TOTP tokens, the token
# keys) is built once into $STATE through the real admin API and kept in
# $DIR/fixture; each run starts from a fresh copy of it, so no code was used.
pi_rnd() { python3 -c 'import secrets; print(secrets.token_hex(24))'; }

pi_write_config() {
  STATE="$STATE" SECRET="$(pi_rnd)" PEPPER="$(pi_rnd)" python3 - <<'PY'
import os
s = os.environ["STATE"]
cfg = f"""SUPERUSER_REALM = ['super']
SQLALCHEMY_DATABASE_URI = 'sqlite:///{s}/privacyidea.sqlite'
SECRET_KEY = '{os.environ["SECRET"]}'
PI_PEPPER = '{os.environ["PEPPER"]}'
PI_ENCFILE = '{s}/enckey'
PI_AUDIT_KEY_PRIVATE = '{s}/private.pem'
PI_AUDIT_KEY_PUBLIC = '{s}/public.pem'
PI_LOGFILE = '{s}/privacyidea.log'
PI_LOGLEVEL = 30
PI_UUID_FILE = '{s}/uuid.txt'
"""
open(f"{s}/pi.base.cfg", "w").write(cfg)
open(f"{s}/pi_wsgi.py", "w").write(
    "from privacyidea.app import create_app\n"
    f"application = create_app(config_name='production', config_file={s + '/pi.cfg'!r}, silent=True)\n")
PY
}

# pi.cfg = pi.base.cfg, plus for "wal" the SQLite durability kapu runs with
# (WAL, synchronous=NORMAL) instead of SQLite's default (rollback journal,
# fsyncs at every commit); the journal mode is also set in the database file.
pi_sqlite_mode() {
  cp "$STATE/pi.base.cfg" "$STATE/pi.cfg"
  if [[ $1 == wal ]]; then
    cat >>"$STATE/pi.cfg" <<'CFG'

# kapu bench: SQLite in WAL mode with synchronous=NORMAL on every connection.
from sqlalchemy import event as _bench_event
from sqlalchemy.engine import Engine as _BenchEngine
@_bench_event.listens_for(_BenchEngine, "connect")
def _bench_sqlite_pragmas(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
CFG
  fi
  "$DIR/venv/bin/python" -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print("journal_mode", c.execute("PRAGMA journal_mode=" + sys.argv[2]).fetchone()[0]); c.close()' \
    "$STATE/privacyidea.sqlite" "$([[ $1 == wal ]] && echo WAL || echo DELETE)" >>"$LOG" 2>&1 || fail "could not set the SQLite journal mode (log: $LOG)"
}

pi_start() {
  local port=$1 workers=$2
  say "starting gunicorn ($workers sync workers) on 127.0.0.1:$port, core $SERVER_CORE"
  start_server "$DIR/venv/bin/gunicorn" --workers "$workers" --bind "127.0.0.1:$port" --chdir "$STATE" \
    --error-logfile - --log-level warning pi_wsgi:application
  wait_http "http://127.0.0.1:$port/healthz/" 200
}

pi_build_fixture() {
  local port=$1 workers=$2 nusers=$3 stamp=$4 admin_pass i t0=$SECONDS
  say "building the enrolled state ($nusers users with TOTP tokens) once; later runs reuse it"
  rm -rf "$DIR/fixture" "$DIR/fixture.tmp" "$STATE"
  mkdir -p "$STATE"
  pi_write_config
  pi_sqlite_mode wal # enrols faster; each run sets the mode it measures
  admin_pass=$(pi_rnd)
  for ((i = 0; i < nusers; i++)); do printf 'u%04d:x:%d:%d:Bench User %d:/home/u%04d:/bin/false\n' "$i" $((10000 + i)) $((10000 + i)) "$i" "$i"; done >"$STATE/users.passwd"
  cut -d: -f1 "$STATE/users.passwd" >"$STATE/users.txt"
  python3 -c 'import sys; print(repr({"fileName": sys.argv[1]}))' "$STATE/users.passwd" >"$STATE/resolver.conf"
  # The pi-manage commands of the recipe, in one Python process (each
  # pi-manage start costs seconds of imports).
  # In $STATE: privacyIDEA may log to ./privacyidea.log before it reads pi.cfg.
  (cd "$STATE" && PRIVACYIDEA_CONFIGFILE="$STATE/pi.cfg" "$DIR/venv/bin/python" - "$admin_pass" "$STATE/resolver.conf") >>"$LOG" 2>&1 <<'PY' || fail "pi-manage setup failed: $(log_hint) (log: $LOG)"
import sys
from privacyidea.cli.pimanage import cli
admin_pass, resolver_conf = sys.argv[1:3]
for args in (["setup", "create_enckey"], ["setup", "create_audit_keys"], ["setup", "create_tables"],
             ["admin", "add", "admin", "-p", admin_pass],
             ["config", "resolver", "create", "users", "passwdresolver", resolver_conf],
             ["config", "realm", "create", "realm1", "users"], ["config", "realm", "set_default", "realm1"]):
    print("pi-manage", " ".join(args[:3]), flush=True)
    try:
        cli.main(args=args, prog_name="pi-manage", standalone_mode=False)
    except SystemExit as e:
        if e.code not in (0, None):
            raise
PY
  pi_start "$port" "$workers"
  run_load "$INSTALL_TIMEOUT_S" privacyidea-load.mjs MODE=enrol PORT="$port" USERS_FILE="$STATE/users.txt" ADMIN_PASS="$admin_pass" \
    KEYS_FILE="$STATE/keys.txt" ENROL_CONC=4
  stop_all
  cp -a "$STATE" "$DIR/fixture.tmp"
  rm -f "$DIR/fixture.tmp"/{load.json,figures.json,privacyidea.log}
  echo "$stamp" >"$DIR/fixture.tmp/stamp"
  mv "$DIR/fixture.tmp" "$DIR/fixture"
  say "enrolled state built in $((SECONDS - t0)) s: $DIR/fixture"
}

run_privacyidea() {
  local V="$DIR/venv" port="${KAPU_PEER_PORT:-18101}" workers="${KAPU_PEER_WORKERS:-2}"
  local nusers="${KAPU_PEER_USERS:-1000}" conc="${KAPU_PEER_CONC:-4}" sqlite_mode="${KAPU_PEER_PI_SQLITE:-wal}"
  case $sqlite_mode in wal | stock) ;; *) fail "KAPU_PEER_PI_SQLITE must be wal or stock" ;; esac
  if [[ ! -x $V/bin/gunicorn || ! -x $V/bin/python ]] ||
    [[ $("$V/bin/python" -c 'import importlib.metadata as m; print(m.version("privacyidea"))' 2>/dev/null) != "$PI_VERSION_PIN" ]]; then
    timed_install pi_install
  fi
  VERSION=$("$V/bin/python" -c 'import importlib.metadata as m; print(m.version("privacyidea"))') || fail "privacyidea is not importable from $V"
  need_free_port "$port"

  local stamp="privacyidea=$VERSION users=$nusers state=$STATE"
  if [[ ! -f $DIR/fixture/stamp || $(cat "$DIR/fixture/stamp") != "$stamp" ]]; then
    pi_build_fixture "$port" "$workers" "$nusers" "$stamp"
  fi
  rm -rf "$STATE"
  cp -a "$DIR/fixture" "$STATE"
  pi_sqlite_mode "$sqlite_mode"
  pi_start "$port" "$workers"
  local db="SQLite (default rollback journal, fsyncs at every commit)"
  [[ $sqlite_mode == wal ]] && db="SQLite in WAL mode with synchronous=NORMAL (as kapu)"
  run_load "$LOAD_TIMEOUT_S" privacyidea-load.mjs MODE=check PORT="$port" KEYS_FILE="$STATE/keys.txt" \
    CONC="$conc" WARM_S="$WARM_S" SECONDS="$SECONDS_MEASURED" WORKERS="$workers" DB="$db"
}

# ------------------------------------------------------------- oidc-provider
OP_VERSION_PIN="${KAPU_PEER_OIDC_PROVIDER_VERSION:-9}"
op_install() {
  rm -rf "$DIR/node_modules" "$DIR/package.json" "$DIR/package-lock.json"
  echo '{"private": true, "description": "kapu bench peer (scratch)"}' >"$DIR/package.json"
  (cd "$DIR" && timeout "$INSTALL_TIMEOUT_S" npm install --no-audit --no-fund "oidc-provider@$OP_VERSION_PIN") >>"$DIR/install.log" 2>&1 ||
    fail "npm install oidc-provider@$OP_VERSION_PIN failed: $(grep -E 'ERR' "$DIR/install.log" | tail -n 1 | cut -c1-200) (log: $DIR/install.log)"
}

run_oidc_provider() {
  local port="${KAPU_PEER_PORT:-18102}"
  op_ver() { node -p 'require(process.argv[1]).version' "$DIR/node_modules/oidc-provider/package.json" 2>/dev/null; }
  if [[ $(op_ver) != "$OP_VERSION_PIN"* ]]; then
    timed_install op_install
  fi
  VERSION=$(op_ver) || fail "oidc-provider is not installed in $DIR"
  need_free_port "$port"
  # The server imports oidc-provider, so it runs from beside node_modules.
  cp "$HERE/oidc-provider-server.mjs" "$DIR/server.mjs"
  say "starting oidc-provider (ES256 ID tokens) on 127.0.0.1:$port, core $SERVER_CORE"
  start_server env PORT="$port" ALG=ES256 node "$DIR/server.mjs"
  wait_http "http://127.0.0.1:$port/.well-known/openid-configuration" 200
  run_load "$LOAD_TIMEOUT_S" oidc-provider-load.mjs PORT="$port" CONC="${KAPU_PEER_CONC:-16}" \
    WARM_S="$WARM_S" SECONDS="$SECONDS_MEASURED" CODES="${KAPU_PEER_CODES:-3000}"
}

# ----------------------------------------------------------- LemonLDAP::NG
# libdigest-hmac-perl: its TOTP module (enabled by the recipe's config) needs
# Digest::HMAC_SHA1, which no dependency or recommendation brings.
LL_PKGS=(lemonldap-ng lemonldap-ng-fastcgi-server nginx-light libdigest-hmac-perl)
ll_install() {
  apt_install "${LL_PKGS[@]}"
}

run_lemonldap() {
  local port="${KAPU_PEER_PORT:-18103}" nproc="${KAPU_PEER_FCGI_PROCS:-4}"
  local host="auth.example.com:$port" pkg missing=0
  for pkg in "${LL_PKGS[@]}"; do
    [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) == "install ok installed" ]] || missing=1
  done
  if [[ $missing -eq 1 ]]; then
    [[ $(id -u) -eq 0 ]] || fail "LemonLDAP::NG is not installed and installing it needs root (apt-get install ${LL_PKGS[*]})"
    timed_install ll_install
  fi
  VERSION=$(dpkg-query -W -f='${Version}' lemonldap-ng) || fail "lemonldap-ng is not installed"
  for pkg in /usr/sbin/llng-fastcgi-server /usr/sbin/nginx /usr/share/lemonldap-ng/bin/lemonldap-ng-cli /usr/share/lemonldap-ng/bin/rotateOidcKeys /var/lib/lemonldap-ng/conf/lmConf-1.json; do
    [[ -e $pkg ]] || fail "$pkg is missing after installing ${LL_PKGS[*]}"
  done
  getent passwd www-data >/dev/null || fail "user www-data is missing (llng-fastcgi-server refuses to run as root)"
  need_free_port "$port"

  # Its own configuration, sessions and caches in $STATE: LLNG_DEFAULTCONFFILE
  # points every LL::NG tool at a lemonldap-ng.ini that points there.
  mkdir -p "$STATE"/{conf,sessions/lock,psessions/lock,cache,run}
  cp /var/lib/lemonldap-ng/conf/lmConf-1.json "$STATE/conf/"
  sed -e "s#/var/lib/lemonldap-ng/conf#$STATE/conf#" -e "s#/var/lib/lemonldap-ng/cache#$STATE/cache#" \
    /etc/lemonldap-ng/lemonldap-ng.ini >"$STATE/lemonldap-ng.ini"
  grep -q "dirName *= *$STATE/conf" "$STATE/lemonldap-ng.ini" || fail "could not point lemonldap-ng.ini at $STATE/conf"
  export LLNG_DEFAULTCONFFILE="$STATE/lemonldap-ng.ini"
  export LLNG_DEFAULTLOGGER=Lemonldap::NG::Common::Logger::Std
  STATE="$STATE" PORT="$port" python3 - <<'PY'
import json, os
s, port = os.environ["STATE"], os.environ["PORT"]
merge = {
    "portal": f"http://auth.example.com:{port}/",
    "issuerDBOpenIDConnectActivation": 1,
    "totp2fActivation": 1,
    "totp2fSelfRegistration": 1,
    "globalStorageOptions": {"Directory": f"{s}/sessions", "LockDirectory": f"{s}/sessions/lock",
                             "generateModule": "Lemonldap::NG::Common::Apache::Session::Generate::SHA256"},
    "persistentStorageOptions": {"Directory": f"{s}/psessions", "LockDirectory": f"{s}/psessions/lock"},
    "localSessionStorageOptions": {"cache_depth": 3, "cache_root": f"{s}/cache", "default_expires_in": 600,
                                   "directory_umask": "007", "namespace": "lemonldap-ng-sessions"},
    "oidcRPMetaDataOptions": {"rp1": {
        "oidcRPMetaDataOptionsClientID": "rp1",
        "oidcRPMetaDataOptionsClientSecret": "rp1-secret-0123456789",
        "oidcRPMetaDataOptionsRedirectUris": "http://127.0.0.1:9999/cb",
        "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256",
        "oidcRPMetaDataOptionsBypassConsent": 1,
        "oidcRPMetaDataOptionsPublic": 0}},
    "oidcRPMetaDataExportedVars": {"rp1": {"email": "mail", "name": "cn"}},
}
json.dump(merge, open(f"{s}/merge.json", "w"), indent=1)
PY
  say "configuring LemonLDAP::NG in $STATE"
  # lemonldap-ng-cli and the FastCGI server run as www-data.
  chown -R www-data:www-data "$STATE/conf" "$STATE/sessions" "$STATE/psessions" "$STATE/cache" "$STATE/run"
  # Keys first: the RP's RS256 setting is refused while there is no RSA key.
  # No reload URL: it would poke whatever listens on localhost:80.
  {
    runuser -u www-data -- /usr/share/lemonldap-ng/bin/rotateOidcKeys &&
      /usr/share/lemonldap-ng/bin/lemonldap-ng-cli -yes 1 delKey reloadUrls localhost &&
      /usr/share/lemonldap-ng/bin/lemonldap-ng-cli -yes 1 merge "$STATE/merge.json"
  } >>"$LOG" 2>&1 || fail "rotateOidcKeys / lemonldap-ng-cli merge failed: $(log_hint) (log: $LOG)"
  ls "$STATE"/conf/lmConf-4.json >/dev/null 2>&1 || fail "LL::NG did not write its configuration into $STATE/conf (log: $LOG)"
  chown -R www-data:www-data "$STATE/conf" "$STATE/sessions" "$STATE/psessions" "$STATE/cache" "$STATE/run"

  cat >"$STATE/nginx.conf" <<EOF
worker_processes 1;
daemon off;
user www-data;
pid $STATE/run/nginx.pid;
error_log $LOG warn;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  client_body_temp_path $STATE/run/body; fastcgi_temp_path $STATE/run/fcgi; proxy_temp_path $STATE/run/proxy;
  uwsgi_temp_path $STATE/run/uwsgi; scgi_temp_path $STATE/run/scgi;
  upstream llng_portal_upstream { server unix:$STATE/run/llng-fastcgi.sock; }
  server {
    listen 127.0.0.1:$port;
    server_name auth.example.com;
    root /usr/share/lemonldap-ng/portal/htdocs/;
    if (\$uri !~ ^/((static|javascript|favicon).*|.*\.psgi)) {
      rewrite ^/(.*)\$ /index.psgi/\$1 break;
    }
    location ~ ^(?<sc>/.*\.psgi)(?:\$|/) {
      include /etc/nginx/fastcgi_params;
      fastcgi_pass llng_portal_upstream;
      fastcgi_param HTTP_HOST \$host;
      fastcgi_param LLTYPE psgi;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_split_path_info ^(.*\.psgi)(/.*)\$;
      fastcgi_param PATH_INFO \$fastcgi_path_info;
    }
    index index.psgi;
    location / { try_files \$uri \$uri/ =404; }
    location /static/ { alias /usr/share/lemonldap-ng/portal/htdocs/static/; }
  }
}
EOF
  say "starting llng-fastcgi-server ($nproc processes) and nginx on 127.0.0.1:$port, core $SERVER_CORE"
  start_server /usr/sbin/llng-fastcgi-server --foreground -u www-data -g www-data \
    -s "$STATE/run/llng-fastcgi.sock" -p "$STATE/run/llng-fastcgi.pid" -n "$nproc"
  start_server /usr/sbin/nginx -c "$STATE/nginx.conf" -e "$LOG"
  wait_http "http://127.0.0.1:$port/" 200 "$host"
  run_load "$LOAD_TIMEOUT_S" lemonldap-load.mjs PORT="$port" HOST_HEADER="$host" CONC="${KAPU_PEER_CONC:-8}" \
    WARM_S="${KAPU_PEER_WARM_S:-5}" SECONDS="$SECONDS_MEASURED" FCGI_PROCS="$nproc"
}

case $PEER in
privacyidea) run_privacyidea ;;
oidc-provider) run_oidc_provider ;;
lemonldap) run_lemonldap ;;
esac

stop_all
write_out true "" "$STATE/figures.json"
say "done in $((SECONDS - t_start)) s: $OUT"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [print("peers/%s: %s = %s %s (p50 %s ms, p99 %s ms, n %s)" % (d["peer"], f["id"], f["value"], f["unit"], f["p50_ms"], f["p99_ms"], f["n"]), file=sys.stderr) for f in d["figures"]]' "$OUT"

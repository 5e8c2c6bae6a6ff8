#!/usr/bin/env bash
# The pg_auto_failover formation of docker/compose.yaml: one image, three roles, chosen by the command.
#
#   monitor                  the monitor: it health-checks the nodes and assigns each its state,
#                            so it decides which node is the primary.
#   node NAME                a data node, primary or standby as the monitor assigns. NAME is both
#                            its pg_auto_failover name and the host name the others reach it by.
#   formation HOST:PORT...   a one-shot job: sets number-sync-standbys 1 once the formation has the
#                            two standbys it needs, waits for a node in state primary (its commits
#                            wait for a standby), then for one of HOST:PORT... to take the hub's
#                            password and writes; exits 0. The migration job waits for it.
#
# Passwords, scram-sha-256 only, from two container secrets:
#   - cluster_password: pg_auto_failover's own roles, autoctl_node (the nodes to the monitor) and
#     pgautofailover_replicator (streaming replication, pg_rewind). The hubs never get it.
#   - db_password: the hub's role, coalition, which owns the coalition database.
# pg_autoctl sets no password and, given --skip-pg-hba, writes no pg_hba.conf rule: this script
# writes both. pg_autoctl's `create` stops PostgreSQL when it is done, so the passwords are set on
# a server started here that listens on the Unix socket alone, between `create` and `run`.
#
# Runs as root (the secrets are files only root may read, with the host file's owner and mode) and
# runs every pg_autoctl, pg_ctl and psql as the postgres user; `run` replaces this shell, so
# pg_autoctl receives the container's stop signal itself.
#
# Every path, port and the OS user come from the environment, as the image sets them (see the
# Dockerfile), so the same script also runs outside a container, e.g. a formation on 127.0.0.1 with a
# port per node (tests/unit/test_docker_files.py builds one).
set -euo pipefail

SECRETS_DIR=${SECRETS_DIR:-/run/secrets}
OS_USER=${PGAF_OS_USER:-postgres}
MONITOR_HOST=${PGAF_MONITOR_HOST:-monitor}
MONITOR_PORT=${PGAF_MONITOR_PORT:-5432}
PGPORT=${PGPORT:-5432}
PG_CTL=${PG_CTL:-/usr/lib/postgresql/${PG_MAJOR:-15}/bin/pg_ctl}
DATABASE=coalition
DATABASE_ROLE=coalition
MONITOR_URI="postgres://autoctl_node@${MONITOR_HOST}:${MONITOR_PORT}/pg_auto_failover?sslmode=require"
# A password file is a secret of a few dozen bytes; anything bigger is the wrong file (as the hub's rule).
MAX_PASSWORD_FILE_BYTES=4096
# The formation job's limits: how long it waits for the formation, and between two looks.
FORMATION_TIMEOUT_S=${PGAF_FORMATION_TIMEOUT_S:-600}
FORMATION_POLL_S=2
NUMBER_SYNC_STANDBYS=1
PRIMARY_COUNT="SELECT count(*) FROM pgautofailover.current_state('default')
 WHERE current_group_state = 'primary' AND assigned_group_state = 'primary'"
# Written in PGDATA once the roles have their passwords (the monitor's; the first primary's, which the
# standbys clone): the passwords are set once, at creation.
BOOTSTRAPPED=bootstrapped-by-entrypoint

say() { printf '%s entrypoint: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
    say "$*"
    exit 1
}

# Run a command as the postgres user (already so when the script runs outside a container as postgres).
as_postgres() {
    if ((EUID == 0)); then gosu "$OS_USER" "$@"; else "$@"; fi
}

# Replace this shell with a command run as the postgres user.
exec_as_postgres() {
    if ((EUID == 0)); then exec gosu "$OS_USER" "$@"; else exec "$@"; fi
}

# A secret's text without its trailing newline (CR or LF), as the hub reads db_password.
read_secret() {
    local file=$SECRETS_DIR/$1 text
    [[ -r $file ]] || die "the secret $1 is missing ($file): docker/README.md says how to make it"
    (($(stat -c %s "$file") <= MAX_PASSWORD_FILE_BYTES)) || die "$file is over $MAX_PASSWORD_FILE_BYTES bytes: not a password"
    text=$(<"$file")
    while [[ $text == *$'\r' || $text == *$'\n' ]]; do text=${text%?}; done
    [[ -n $text ]] || die "$file is empty"
    printf '%s' "$text"
}

# A SQL string literal (standard_conforming_strings is on: only the quote needs doubling).
sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }

# A .pgpass field: a colon or a backslash in it is escaped with a backslash.
pgpass_field() {
    local text=${1//\\/\\\\}
    printf '%s' "${text//:/\\:}"
}

# The directories pg_autoctl keeps its configuration and state in (on the volume, beside PGDATA), and a
# fresh runtime directory: a pid file left by a killed container would name a pid that may be alive again.
prepare_directories() {
    local dir
    for dir in "$(dirname "$PGDATA")" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"; do
        mkdir -p "$dir"
        chown "$OS_USER:" "$dir"
    done
    rm -rf "$XDG_RUNTIME_DIR"
    install -d -o "$OS_USER" -m 0700 "$XDG_RUNTIME_DIR"
}

# The password file libpq reads for pg_autoctl, pg_basebackup and a standby's WAL receiver; the
# formation job adds the hub's role. Arguments: the cluster password, and the hub's if wanted.
write_pgpass() {
    install -o "$OS_USER" -m 0600 /dev/null "$PGPASSFILE"
    {
        printf '*:*:pg_auto_failover:autoctl_node:%s\n' "$(pgpass_field "$1")"
        printf '*:*:*:pgautofailover_replicator:%s\n' "$(pgpass_field "$1")"
        if (($# > 1)); then printf '*:*:%s:%s:%s\n' "$DATABASE" "$DATABASE_ROLE" "$(pgpass_field "$2")"; fi
    } >"$PGPASSFILE"
}

# pg_hba.conf, rewritten at every start. `samenet` is the compose network the containers share.
# Any other connection is refused, which the monitor's health check still counts as a live server.
write_hba() {
    local rules
    if [[ $1 == monitor ]]; then
        rules="hostssl pg_auto_failover autoctl_node              samenet scram-sha-256"
    else
        rules="hostssl replication      pgautofailover_replicator samenet scram-sha-256
hostssl all              pgautofailover_replicator samenet scram-sha-256
hostssl $DATABASE        $DATABASE_ROLE                 samenet scram-sha-256"
    fi
    as_postgres tee "$PGDATA/pg_hba.conf" >/dev/null <<EOF
# Written by entrypoint.sh at every start; pg_autoctl runs with --skip-pg-hba and leaves it alone.
# Only processes inside this container reach the Unix socket: pg_autoctl, and docker compose exec.
local   all              all                                trust
$rules
EOF
}

# Run the SQL on stdin on a server that listens on the Unix socket alone, started and stopped here.
on_local_server() {
    local log=$XDG_RUNTIME_DIR/bootstrap-server.log status=0
    as_postgres "$PG_CTL" start --wait --silent --pgdata "$PGDATA" --log "$log" \
        --options "-c listen_addresses='' -p $PGPORT" || die "PostgreSQL did not start: $(cat "$log")"
    as_postgres psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --port "$PGPORT" --dbname postgres || status=$?
    as_postgres "$PG_CTL" stop --wait --silent --pgdata "$PGDATA" --mode fast
    ((status == 0)) || die "the SQL above failed"
}

monitor() {
    local cluster_password
    cluster_password=$(read_secret cluster_password)
    prepare_directories
    # Idempotent: on a monitor made before, it finds the database and the extension and goes on.
    as_postgres pg_autoctl create monitor --pgdata "$PGDATA" --pgctl "$PG_CTL" --pgport "$PGPORT" \
        --hostname "$MONITOR_HOST" --skip-pg-hba --ssl-self-signed
    write_hba monitor
    # Once, as the replication password on the first primary: docker/README.md says how to change both.
    if [[ ! -e $PGDATA/$BOOTSTRAPPED ]]; then
        on_local_server <<<"ALTER ROLE autoctl_node PASSWORD $(sql_literal "$cluster_password");"
        as_postgres touch "$PGDATA/$BOOTSTRAPPED"
    fi
    exec_as_postgres pg_autoctl run --pgdata "$PGDATA"
}

node() {
    local name=${1:?node needs its name} cluster_password db_password state_dir
    cluster_password=$(read_secret cluster_password)
    db_password=$(read_secret db_password)
    prepare_directories
    write_pgpass "$cluster_password"
    state_dir=$XDG_DATA_HOME/pg_autoctl$PGDATA
    # `create` only until it has finished (its .init file is gone): on a node made before, it would start
    # PostgreSQL and stop it again for nothing. The first node to register becomes the primary; the
    # others wait for it, then clone it.
    if [[ ! -e $state_dir/pg_autoctl.state || -e $state_dir/pg_autoctl.init ]]; then
        as_postgres pg_autoctl create postgres --pgdata "$PGDATA" --pgctl "$PG_CTL" --pgport "$PGPORT" \
            --name "$name" --hostname "${PGAF_HOSTNAME:-$name}" --dbname "$DATABASE" --monitor "$MONITOR_URI" \
            --skip-pg-hba --ssl-self-signed
    fi
    write_hba node
    # The first primary, once: the replication password, and the hub's role, owner of the database. A
    # standby is a copy of a primary that has them (and the marker file); no standby can connect to
    # the local server here, so none copies the primary before they are set.
    if [[ ! -e $PGDATA/$BOOTSTRAPPED && ! -e $PGDATA/standby.signal ]]; then
        on_local_server <<SQL
ALTER ROLE pgautofailover_replicator PASSWORD $(sql_literal "$cluster_password");
SELECT 'CREATE ROLE $DATABASE_ROLE' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DATABASE_ROLE')
\gexec
ALTER ROLE $DATABASE_ROLE WITH LOGIN NOSUPERUSER PASSWORD $(sql_literal "$db_password");
ALTER DATABASE $DATABASE OWNER TO $DATABASE_ROLE;
SQL
        as_postgres touch "$PGDATA/$BOOTSTRAPPED"
        say "$name: the first primary; its roles have their passwords"
    fi
    exec_as_postgres pg_autoctl run --pgdata "$PGDATA"
}

formation() {
    (($# > 0)) || die "formation needs the nodes' HOST:PORT"
    local node hosts ports deadline=$((SECONDS + FORMATION_TIMEOUT_S)) cluster_password db_password
    for node in "$@"; do
        hosts+=${hosts:+,}${node%:*}
        ports+=${ports:+,}${node##*:}
    done
    cluster_password=$(read_secret cluster_password)
    db_password=$(read_secret db_password)
    write_pgpass "$cluster_password" "$db_password"
    # Set only when it differs. The monitor refuses the value while the formation lacks the standbys
    # it needs, so this also waits for the nodes to join.
    until [[ $(as_postgres pg_autoctl get formation number-sync-standbys --monitor "$MONITOR_URI" 2>/dev/null) == "$NUMBER_SYNC_STANDBYS" ]] ||
        as_postgres pg_autoctl set formation number-sync-standbys "$NUMBER_SYNC_STANDBYS" --monitor "$MONITOR_URI" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "number-sync-standbys is still not $NUMBER_SYNC_STANDBYS after ${FORMATION_TIMEOUT_S}s"
        sleep "$FORMATION_POLL_S"
    done
    say "number-sync-standbys $NUMBER_SYNC_STANDBYS"
    # A primary in state `primary` (not `wait_primary`): its commits wait for a synchronous standby, so
    # the hubs' first writes (the migration's) are on two nodes too.
    until [[ $(psql --no-psqlrc --quiet --tuples-only --no-align --command "$PRIMARY_COUNT" "$MONITOR_URI" 2>/dev/null) == 1 ]]; do
        ((SECONDS < deadline)) || die "the monitor shows no node in state primary after ${FORMATION_TIMEOUT_S}s"
        sleep "$FORMATION_POLL_S"
    done
    # The hub's way in: its role and password, on whichever node accepts writes.
    until psql --no-psqlrc --quiet --command "SELECT 1" \
        "host=$hosts port=$ports dbname=$DATABASE user=$DATABASE_ROLE target_session_attrs=read-write connect_timeout=5" \
        >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "no node of $* took $DATABASE_ROLE's writes within ${FORMATION_TIMEOUT_S}s"
        sleep "$FORMATION_POLL_S"
    done
    as_postgres pg_autoctl show state --monitor "$MONITOR_URI"
    say "a writable primary accepts $DATABASE_ROLE: the formation is ready"
}

# Sourced (by a test), it only defines the functions.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    case ${1:-} in
        monitor | node | formation) "$@" ;;
        *) die "usage: entrypoint.sh monitor | node NAME | formation HOST:PORT... (got: ${*:-nothing})" ;;
    esac
fi

#!/bin/sh
# Starts one sentinel of docker-compose.yml's production profile. Sentinel rewrites its
# configuration file as it learns the group, so the file is written here, at every start,
# from the environment (the passwords never reach the repository) into a writable folder.
#
# REDIS_PASSWORD            the data nodes' password (required)
# REDIS_SENTINEL_PASSWORD   this sentinel's own requirepass (default: REDIS_PASSWORD)
# REDIS_SENTINEL_SERVICE    the group's name (default: movies)
# SENTINEL_NODES            the data nodes, host:port separated by spaces; the first is
#                           the primary unless another one answers as the primary
# SENTINEL_ANNOUNCE         the name the other sentinels and the app reach this one by
# SENTINEL_PORT, SENTINEL_BIND, SENTINEL_CONF   default 26379, 0.0.0.0, /data/sentinel.conf
set -eu

: "${REDIS_PASSWORD:?the data nodes password}"
: "${SENTINEL_NODES:?the data nodes, host:port separated by spaces}"
sentinel_password=${REDIS_SENTINEL_PASSWORD:-$REDIS_PASSWORD}
service=${REDIS_SENTINEL_SERVICE:-movies}
conf=${SENTINEL_CONF:-/data/sentinel.conf}

line_break='
'
case "$REDIS_PASSWORD$sentinel_password" in
*"$line_break"*)
    echo "sentinel.sh: a password holds a line break, which redis.conf cannot" >&2
    exit 1
    ;;
esac

# A redis.conf string: backslashes and quotes escaped, so no password ends the line.
quoted() {
    printf '"%s"' "$(printf '%s' "$1" | sed 's/[\\"]/\\&/g')"
}

# After a failover the primary is no longer the first node, and a sentinel started afresh
# must not watch a replica: the node answering ROLE as a primary with most replicas wins.
primary=${SENTINEL_NODES%% *}
best=0
for node in $SENTINEL_NODES; do
    role=$(REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -h "${node%:*}" -p "${node##*:}" -t 2 \
        role 2>/dev/null) || continue
    [ "$(printf '%s\n' "$role" | head -n 1)" = master ] || continue
    lines=$(printf '%s\n' "$role" | wc -l)
    if [ "$lines" -gt "$best" ]; then
        primary=$node
        best=$lines
    fi
done

own_password=$(quoted "$sentinel_password")
announce=""
if [ -n "${SENTINEL_ANNOUNCE:-}" ]; then
    announce="sentinel announce-ip $(quoted "$SENTINEL_ANNOUNCE")"
fi
umask 077  # the file holds both passwords
mkdir -p "$(dirname "$conf")"
# Compose's addresses are service names, which Sentinel resolves (and hands on as names).
cat >"$conf" <<CONF
port ${SENTINEL_PORT:-26379}
bind ${SENTINEL_BIND:-0.0.0.0}
dir $(quoted "$(dirname "$conf")")
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
$announce
requirepass $own_password
sentinel sentinel-pass $own_password
sentinel monitor $service ${primary%:*} ${primary##*:} 2
sentinel auth-pass $service $(quoted "$REDIS_PASSWORD")
sentinel down-after-milliseconds $service 1000
sentinel failover-timeout $service 5000
CONF
echo "sentinel.sh: watching $service at $primary"
exec redis-server "$conf" --sentinel

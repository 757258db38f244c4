#!/bin/sh
# Start the lab's Asterisk in the foreground: the one start script of both lab paths (the Docker
# image and the no-Docker root filesystem). It renders the configuration templates in
# $LAB_CONFIG_SRC (the @NAME@ placeholders take the values of the environment variables of the
# same names, from lab.env and the secrets the kit generates) into /etc/vicifast-asterisk, then runs Asterisk, which drops root
# for the asterisk user (runuser in asterisk.conf).
set -eu

src=${LAB_CONFIG_SRC:-/opt/vicifast/asterisk}
dst=/etc/vicifast-asterisk
names="LAB_BIND ARI_PORT ARI_USER ARI_PASSWORD ARI_VIEWER_PASSWORD AMI_PORT AMI_USER AMI_SECRET SIP_PORT SIP_PASSWORD PUSH_PASSWORD RTP_START RTP_END PUSH_URI"

# Where the outbound websockets (websocket_client.conf) reach the kit's push server: PUSH_URI, else the
# kit on this machine, ws://PUSH_HOST:PUSH_PORT (127.0.0.1 for an empty or wildcard PUSH_HOST). The same
# rule as vicifast_kit/push/config.py's lab_uri(); compose.yaml sets PUSH_URI for the Docker lab.
if [ -z "${PUSH_URI:-}" ]; then
    push_host=${PUSH_HOST:-127.0.0.1}
    case "$push_host" in 0.0.0.0|::) push_host=127.0.0.1 ;; *:*) push_host="[$push_host]" ;; esac
    PUSH_URI="ws://$push_host:${PUSH_PORT:-8790}"
fi
PUSH_URI=${PUSH_URI%/}
export PUSH_URI

script=""
for name in $names; do
    value=$(printenv "$name" || true)
    if [ -z "$value" ]; then
        echo "start-asterisk: $name is not set (vicifast-kit passes it from docker/lab.env and the generated lab-secrets.env)" >&2
        exit 2
    fi
    # Escape what sed would read as special in a replacement: \ & and the | delimiter.
    value=$(printf '%s' "$value" | sed -e 's/[\\&|]/\\&/g')
    script="${script}s|@${name}@|${value}|g;"
done

# VICIFAST_RENDER_ONLY=DIR: render the configuration into DIR and stop (the offline tests check it).
if [ -n "${VICIFAST_RENDER_ONLY:-}" ]; then
    dst=$VICIFAST_RENDER_ONLY
    mkdir -p "$dst"
    for file in "$src"/*.conf; do
        sed -e "$script" "$file" > "$dst/$(basename "$file")"
    done
    exit 0
fi

rm -rf "$dst"
mkdir -p "$dst"
for file in "$src"/*.conf; do
    sed -e "$script" "$file" > "$dst/$(basename "$file")"
done
chown -R asterisk:asterisk "$dst"
chmod 0750 "$dst"
chmod 0640 "$dst"/*.conf

for dir in /var/run/asterisk /var/log/asterisk /var/lib/asterisk /var/spool/asterisk /var/spool/asterisk/recording; do
    mkdir -p "$dir"
    chown -R asterisk:asterisk "$dir"
done

# Simulated callers speak and are never digitally silent: vicifast-tts turns text into speech
# (espeak-ng, sox; cached in /var/lib/asterisk/vicifast/tts) and makes their quiet room noise once.
install -m 0755 "$src/tts.sh" /usr/local/bin/vicifast-tts
mkdir -p /var/lib/asterisk/vicifast
chown asterisk:asterisk /var/lib/asterisk/vicifast
runuser -u asterisk -- /usr/local/bin/vicifast-tts --noise >/dev/null \
    || echo "start-asterisk: could not make the room noise of simulated callers (vicifast-tts --noise)" >&2

# The words of each prompt: Debian's sound package ships their transcript; the lab serves it at
# http://<lab>:<ARI port>/static/vicifast/core-sounds-en.txt, so the kit can say what a sound: says.
static=/usr/share/asterisk/static-http/vicifast
mkdir -p "$static"
transcript=/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz
if [ -f "$transcript" ]; then
    gzip -dc "$transcript" > "$static/core-sounds-en.txt"
fi

exec asterisk -f -C "$dst/asterisk.conf"

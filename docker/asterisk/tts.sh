#!/bin/sh
# vicifast-tts: speech and room noise for the lab's simulated callers, made offline inside the lab
# (espeak-ng and sox), so it works alike in the Docker lab and the no-Docker lab.
# start-asterisk.sh installs it as /usr/local/bin/vicifast-tts.
#
#   vicifast-tts BASE64   speaks the text that BASE64 encodes (Python's standard base64 alphabet
#                         A-Z a-z 0-9 + / with = padding, nothing else) into an 8 kHz mono 16-bit
#                         WAV, cached by a hash of the text, and prints its path without the
#                         extension (what Playback() wants).
#   vicifast-tts --noise  makes the quiet room noise the callers play when they do not talk
#                         (once; prints the path of the long one without the extension).
#
# The text comes from a channel variable, that is from whoever placed the call: it is checked to
# be base64 before anything else, decoded here and handed to espeak-ng in a file, never on a
# command line. Anything else is refused (exit 2, nothing printed).
set -eu
PATH=/usr/local/bin:/usr/bin:/bin
umask 022

dir=${VICIFAST_TTS_DIR:-/var/lib/asterisk/vicifast}
voice_speed=150     # words a minute: a calm, clear speaker
noise_volume=0.015  # pink noise at about -50 dBFS RMS: a quiet room, below silence detection

refuse() {
    echo "vicifast-tts: $1" >&2
    exit 2
}

make_noise() {
    mkdir -p "$dir"
    if [ ! -s "$dir/room-noise.wav" ] || [ ! -s "$dir/room-noise-100ms.wav" ]; then
        tmp=$(mktemp -d "$dir/.noise.XXXXXX")
        # -R: the same noise every time (repeatable); -V1: no warning about the generator's peaks.
        sox -R -V1 -n -r 8000 -c 1 -b 16 -e signed-integer "$tmp/long.wav" synth 10 pinknoise vol "$noise_volume"
        sox -V1 "$tmp/long.wav" "$tmp/short.wav" trim 0 0.1
        mv -f "$tmp/long.wav" "$dir/room-noise.wav"
        mv -f "$tmp/short.wav" "$dir/room-noise-100ms.wav"
        rmdir "$tmp"
    fi
    printf '%s' "$dir/room-noise"
}

[ $# -eq 1 ] || refuse "usage: vicifast-tts BASE64 | vicifast-tts --noise"
if [ "$1" = "--noise" ]; then
    make_noise
    exit 0
fi

text=$1
# Base64 only: the standard alphabet, a length that is a multiple of 4, '=' only as the padding.
case $text in
    "" | *[!A-Za-z0-9+/=]* | *=*[!=]* | *===) refuse "refused: the text must be base64 (A-Z a-z 0-9 + / =)" ;;
esac
[ $(( ${#text} % 4 )) -eq 0 ] || refuse "refused: base64 length must be a multiple of 4"
[ ${#text} -le 4096 ] || refuse "refused: text too long"

mkdir -p "$dir/tts"
tmp=$(mktemp -d "$dir/tts/.new.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf '%s' "$text" | base64 -d > "$tmp/text" 2>/dev/null || refuse "refused: not valid base64"
[ -s "$tmp/text" ] || refuse "refused: empty text"

key=$( (printf 'espeak-ng -s %s\n' "$voice_speed"; cat "$tmp/text") | sha256sum | cut -c1-32)
out="$dir/tts/$key"
if [ ! -s "$out.wav" ]; then
    espeak-ng -s "$voice_speed" -f "$tmp/text" -w "$tmp/voice.wav" 2>/dev/null || refuse "espeak-ng failed"
    sox -V1 "$tmp/voice.wav" -r 8000 -c 1 -b 16 -e signed-integer "$tmp/8k.wav" || refuse "sox failed"
    mv -f "$tmp/8k.wav" "$out.wav"      # atomic: a caller never plays a half-written file
fi
printf '%s' "$out"

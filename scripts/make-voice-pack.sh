#!/usr/bin/env bash
# Makes the default voice pack of qms-display: one WAV per clip (the list
# and the words come from `qms-display --list-clips vi|en`, the same table
# the display reads) spoken by espeak-ng, plus a two-tone chime made with
# sox. Numbers are never given to espeak-ng as digits: the display spells
# them itself and only asks the pack for single words.
#
#   scripts/make-voice-pack.sh [--out DIR] [--bin PATH/qms-display] [--lang vi|en|all]
#
# Recorded clips can replace any of these: put WAV files of the same names in
# a folder and give it first (qms-display --voice-dir recorded --voice-dir DIR).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build/voice"
bin="$root/build/bin/qms-display"
langs="vi en"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --lang) [ "$2" = all ] && langs="vi en" || langs=$2; shift 2 ;;
    *) echo "usage: $0 [--out DIR] [--bin qms-display] [--lang vi|en|all]" >&2; exit 2 ;;
  esac
done
command -v espeak-ng >/dev/null || { echo "make-voice-pack: espeak-ng is not installed (scripts/setup.sh)" >&2; exit 1; }
command -v sox >/dev/null || { echo "make-voice-pack: sox is not installed (scripts/setup.sh)" >&2; exit 1; }
[ -x "$bin" ] || { echo "make-voice-pack: $bin not built" >&2; exit 1; }

mkdir -p "$out"
rm -f "$out/.complete"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The chime: a soft "ding-dong" (E6 then C6, bell-like decay), 22050 Hz mono.
sox -n -r 22050 -c 1 -b 16 "$tmp/ding.wav" synth 0.55 sine 1318.5 sine 659.3 remix - fade q 0.005 0.55 0.45 gain -8
sox -n -r 22050 -c 1 -b 16 "$tmp/dong.wav" synth 0.9 sine 1046.5 sine 523.3 remix - fade q 0.005 0.9 0.75 gain -8
sox "$tmp/ding.wav" "$tmp/dong.wav" "$out/chime.wav"

n=0
for lang in $langs; do
  case $lang in
    vi) voice=vi; speed=135 ;;
    en) voice=en-us; speed=150 ;;
    *) echo "make-voice-pack: unknown language $lang" >&2; exit 2 ;;
  esac
  "$bin" --list-clips "$lang" > "$tmp/list.$lang"
  while IFS=$'\t' read -r name text; do
    [ -n "$name" ] || continue
    espeak-ng -v "$voice" -s "$speed" -w "$tmp/raw.wav" -- "$text"
    # same format for every clip; level evened out so no word is louder
    sox "$tmp/raw.wav" -r 22050 -c 1 -b 16 "$out/$name.wav" norm -3
    n=$((n + 1))
  done < "$tmp/list.$lang"
done
touch "$out/.complete"
echo "make-voice-pack: $n clips + chime in $out"

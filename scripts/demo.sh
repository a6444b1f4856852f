#!/usr/bin/env bash
# The demo: one command sets up and starts the whole system on this machine.
#
#   a private mosquitto on a free loopback port
#   qms-controller with the sample center (examples/center.json), its clock
#     set to 07:30 today so the center is open whatever the hour (the next
#     whole working day of its calendar on a Sunday, Saturday or holiday), running
#     QMS_DEMO_SPEED times faster: the demo's one clock
#   the dashboard, the citizen's ticket page and the booking page, served by
#     a second mosquitto, the web broker, bridged to the first one: the
#     layout qms-provision --ws-port sets up for a center (its
#     mosquitto-web.conf, users and ACL; docs/dashboard.md). The demo prints
#     the addresses (the dashboard's with its login)
#   qms-vprinter, a virtual ESC/POS printer on a pseudo-terminal
#   qms-kiosk printing to it
#   qms-display, the hall board, speaking the calls
#   qms-demo-driver: simulated citizens and counter staff replaying
#     examples/day-500.csv through the broker, QMS_DEMO_SPEED times faster
#     than life
#
# With a screen ($DISPLAY or $WAYLAND_DISPLAY set) the kiosk and the board
# open windows (tap the kiosk with the mouse to take a ticket) and the demo
# runs until Ctrl-C. Without one everything runs headless: the kiosk takes a
# ticket by script (then stays up), the board saves screenshots, the printer
# saves tickets as PNG, all in one folder (QMS_DEMO_OUT, default demo-out/),
# and the demo ends by itself when the simulated day is over (or at Ctrl-C).
#
# Ctrl-C stops everything cleanly, leaving nothing running.
#
#   QMS_DEMO_OUT=DIR       output folder (default demo-out)
#   QMS_DEMO_SPEED=X       simulated seconds per real second (default 60 with a
#                          screen, 240 headless)
#   QMS_DEMO_LIMIT=N       replay only the first N arrivals (default all 500)
#   QMS_DEMO_HEADLESS=1    headless even with a screen
#   QMS_SKIP_SETUP=1       do not run scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
[ "${QMS_SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)"
bin=$root/build/bin

out=${QMS_DEMO_OUT:-demo-out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/board" "$out/kiosk" "$out/tickets" "$out/logs" "$out"/controller.db*
mkdir -p "$out/board" "$out/kiosk" "$out/tickets" "$out/logs"

headless=1
if [ "${QMS_DEMO_HEADLESS:-0}" != 1 ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
  headless=0
fi
if [ $headless = 1 ]; then
  export SDL_VIDEODRIVER=offscreen SDL_AUDIODRIVER=dummy
  speed=${QMS_DEMO_SPEED:-240}
else
  speed=${QMS_DEMO_SPEED:-60}
fi
limit=${QMS_DEMO_LIMIT:-0}

pids=()
names=()
start() { # name logfile command...
  local name=$1 log=$2; shift 2
  "$@" >"$log" 2>&1 &
  pids+=($!)
  names+=("$name")
}
stopping=0
cleanup() {
  [ $stopping = 1 ] && return
  stopping=1
  trap '' INT TERM
  echo
  echo "demo: stopping"
  # newest first: the driver and the programs before the controller, the broker last
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "${pids[$i]}" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "demo: ${names[$i]} did not stop, killing it"
      kill -KILL "${pids[$i]}" 2>/dev/null || true
    fi
    wait "${pids[$i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { # port
  for _ in $(seq 100); do
    (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "demo: nothing listens on port $1" >&2
  return 1
}

# 1. the brokers, private, on free loopback ports: the site broker (plain
#    MQTT, open: every demo program connects to it) and below, once the
#    center's file is written, the web broker
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(freeport)
wsport=${QMS_DEMO_WEB_PORT:-$(freeport)}
cat >"$out/logs/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
persistence false
EOF
start mosquitto "$out/logs/mosquitto.log" /usr/sbin/mosquitto -c "$out/logs/mosquitto.conf"
wait_port "$port"
broker=127.0.0.1:$port
echo "demo: broker on $broker"
# the center, with the ticket page's address for the tickets' QR codes; the
# demo's day: today, or the next day its calendar opens from 07:30 to 17:00
# (the simulated day needs a whole working day, not a Sunday or a holiday)
day=$(python3 - "$root/examples/center.json" "$out/center.json" "http://127.0.0.1:$wsport/" <<'PY'
import datetime, json, sys
c = json.load(open(sys.argv[1], encoding="utf-8"))
c["ticket_url"] = sys.argv[3]
json.dump(c, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
cal = c.get("calendar", {})
wd = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
d = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=c.get("utc_offset_min", 420))).date()
for _ in range(60):
    iso = d.isoformat()
    make = [w["as"] for w in cal.get("workdays", []) if w["date"] == iso]
    h = c.get("hours", [])
    if iso in cal.get("holidays", []):
        h = []
    elif "week" in cal:
        h = cal["week"].get(make[0] if make else wd[d.weekday()], [])
    if h and h[0][0] <= "07:30" and h[-1][1] >= "17:00":
        break
    d += datetime.timedelta(days=1)
print(d.isoformat())
PY
)
center=$out/center.json
# the web broker as qms-provision writes it for a center (its other files, the
# site broker's users and certificates, are not used: the demo's site broker
# is open), bridged to the site broker as user web-bridge
"$bin/qms-provision" --config "$center" --out "$out/broker" --bind 127.0.0.1 --port "$(freeport)" \
  --local-port "$port" --ws-port "$wsport" --web-local-port "$(freeport)" \
  --http-dir "$root/build/dashboard" --no-client-certs >"$out/logs/provision.log" 2>&1 ||
  { echo "demo: qms-provision failed (see $out/logs/provision.log)" >&2; exit 1; }
# at the CPU priority its systemd unit gives it (Nice=10, below the controller,
# and qms-background's long CPU slice)
start mosquitto-web "$out/logs/mosquitto-web.log" nice -n 10 "$bin/qms-background" --slice-ms 50 \
  /usr/sbin/mosquitto -c "$out/broker/mosquitto-web.conf"
wait_port "$wsport"
echo "demo: web broker on 127.0.0.1:$wsport (websockets), bridged to $broker"
login=$(python3 -c 'import json, sys, urllib.parse as u; c = json.load(open(sys.argv[1]))
print("site=%s&user=%s&pass=%s" % (u.quote(c["site"]), u.quote(c["username"]), u.quote(c["password"])))' \
  "$out/broker/clients/dashboard.json")
echo "demo: DASHBOARD  http://127.0.0.1:$wsport/index.html#$login   (open it in a browser)"
echo "demo: BOOKING    http://127.0.0.1:$wsport/book.html#s=demo   (the citizens' booking page)"

# 2. the controller, its clock at 07:30 today (Vietnam time)
if [ ! -x "$bin/qms-controller" ]; then
  echo "demo: qms-controller is not built yet; nothing to demonstrate" >&2
  exit 1
fi
today=$day
[ "$today" != "$(TZ=Asia/Ho_Chi_Minh date +%F)" ] &&
  echo "demo: the sample center's calendar closes today (or part of it); the demo's day is $today"
# one clock for the whole demo: the controller's, $speed times faster than life;
# the simulated citizens follow it (--clock controller)
start qms-controller "$out/logs/controller.log" "$bin/qms-controller" --config "$center" \
  --db "$out/controller.db" --broker "$broker" --clock "${today}T07:30:00" --speed "$speed"

# 3. the virtual printer: its first line on stdout is the pty to print to
pty=""
if [ -x "$bin/qms-vprinter" ]; then
  "$bin/qms-vprinter" --out "$out/tickets" >"$out/logs/vprinter.out" 2>"$out/logs/vprinter.log" &
  pids+=($!)
  names+=(qms-vprinter)
  for _ in $(seq 100); do
    pty=$(head -1 "$out/logs/vprinter.out" 2>/dev/null || true)
    case $pty in /dev/*) break ;; esac
    pty=""
    sleep 0.05
  done
  if [ -n "$pty" ]; then
    echo "demo: virtual printer on $pty"
  else
    echo "demo: the virtual printer did not start (see $out/logs/vprinter.log)" >&2
  fi
fi

# 4. the hall board
display_args=(--config "$center" --broker "$broker"
  --notice "Giờ làm việc: 7:30 – 11:30 và 13:30 – 17:00. Xin mời quý khách lấy số thứ tự tại ki-ốt.")
if [ $headless = 1 ]; then
  display_args+=(--screenshot-dir "$out/board" --shot-every 25 --mute)
else
  display_args+=(--size 1280x720)
fi
start qms-display "$out/logs/display.log" "$bin/qms-display" "${display_args[@]}"

# 5. the kiosk, printing to the virtual printer
if [ -x "$bin/qms-kiosk" ] && [ -n "$pty" ]; then
  kiosk=("$bin/qms-kiosk" --config "$center" --broker "$broker" --printer "$pty"
    --state-file "$out/kiosk.journal")
  if [ $headless = 1 ]; then
    # a citizen's visit, by script: welcome, menu, a ticket for "Tư pháp"
    "${kiosk[@]}" --script scripts/demo-kiosk.txt --screenshot-dir "$out/kiosk" \
      >"$out/logs/kiosk.log" 2>&1 || echo "demo: the kiosk's script failed (see $out/logs/kiosk.log)"
    # then it stays up, as a center's kiosk does: else its last will says
    # offline and the dashboard shows a "kiosk offline" alert all day
    start qms-kiosk "$out/logs/kiosk-idle.log" "${kiosk[@]}"
  else
    start qms-kiosk "$out/logs/kiosk.log" "${kiosk[@]}" --width 768 --height 1024
  fi
fi

# 6. the simulated day
driver_args=(--config "$center" --trace examples/day-500.csv --broker "$broker"
  --clock controller)
[ "$limit" != 0 ] && driver_args+=(--limit "$limit")
echo "demo: replaying examples/day-500.csv at ${speed}x (logs in $out/logs)"
if [ $headless = 1 ]; then
  echo "demo: headless; board screenshots -> $out/board, printed tickets -> $out/tickets," \
    "kiosk screens -> $out/kiosk. Ctrl-C stops."
  start qms-demo-driver "$out/logs/driver.log" "$bin/qms-demo-driver" "${driver_args[@]}"
  driver=${pids[-1]}
  last=""
  while kill -0 "$driver" 2>/dev/null; do
    sleep 2
    line=$(grep -E "taken [0-9]+" "$out/logs/driver.log" | tail -1 | sed 's/^.* I /demo: /' || true)
    [ "$line" != "$last" ] && [ -n "$line" ] && echo "$line"
    last=$line
  done
  echo "demo: done."
  tail -1 "$out/logs/driver.log"
  echo "demo: board $(ls "$out/board"/*.png 2>/dev/null | wc -l) screenshots in $out/board;" \
    "tickets $(ls "$out/tickets"/*.png 2>/dev/null | wc -l) in $out/tickets;" \
    "kiosk $(ls "$out/kiosk"/*.png 2>/dev/null | wc -l) in $out/kiosk"
else
  echo "demo: windows are open; take a ticket at the kiosk. Ctrl-C stops everything."
  start qms-demo-driver "$out/logs/driver.log" "$bin/qms-demo-driver" "${driver_args[@]}"
  while true; do sleep 3600; done
fi

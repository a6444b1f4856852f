#!/usr/bin/env bash
# cmake --install into a scratch root (DESTDIR), then a center run from the
# installed programs only: qms-provision writes the broker's files, mosquitto
# starts with them, the installed qms-controller and qms-counter (with their
# client files) serve a take made by an outside client (mosquitto_rr, with
# the kiosk's credentials) and call it; the installed qms-display finds the
# installed voice pack, not the build tree's.
#   test_install.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d /tmp/qms-install.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done; exit 1; }

root=$work/root
DESTDIR=$root cmake --install "$build" --prefix /usr/local >"$work/install.log" 2>&1 ||
  fail "cmake --install"
R=$root/usr/local
for p in qms-controller qms-counter qms-report qms-provision qms-sim qms-kiosk qms-display \
         qms-printer qms-vprinter qms-demo-driver qms-background; do
  [ -x "$R/bin/$p" ] || fail "$p not installed in bin"
done
for f in share/qms/examples/center.json share/qms/examples/kiosk.json etc/qms/center.json \
         etc/qms/kiosk.json etc/qms/display.json lib/systemd/system/qms-controller.service \
         lib/systemd/system/qms-kiosk.service lib/systemd/system/qms-display.service \
         lib/systemd/system/qms-broker.service lib/systemd/system/qms-web-broker.service \
         share/doc/qms/install.md share/qms/dashboard/index.html share/qms/dashboard/mqtt.min.js; do
  [ -f "$R/$f" ] || fail "$f not installed"
done
grep -q "ExecStart=/usr/local/bin/qms-background --slice-ms 50 /usr/sbin/mosquitto -c /usr/local/etc/qms/broker/mosquitto-web.conf" \
  "$R/lib/systemd/system/qms-web-broker.service" ||
  fail "the web broker unit does not run mosquitto-web.conf through the installed qms-background"
grep -q "^After=.*qms-broker.service" "$R/lib/systemd/system/qms-web-broker.service" ||
  fail "the web broker unit does not start after qms-broker"
ls "$R"/share/qms/voice/*.wav >/dev/null 2>&1 || fail "no voice pack in share/qms/voice"
grep -q "ExecStart=/usr/local/bin/qms-controller" "$R/lib/systemd/system/qms-controller.service" ||
  fail "the controller unit does not run the installed program"

# the .deb (CPack): the same files, the dependencies, the postinst that makes user qms
if command -v dpkg-deb >/dev/null; then
  cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.log" 2>&1 ||
    fail "cpack -G DEB"
  deb=$(ls "$work"/pkg/qms_*.deb) || fail "no .deb made"
  dpkg-deb -f "$deb" Depends | grep -q mosquitto || fail ".deb does not depend on mosquitto"
  dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -q postinst || fail ".deb has no postinst"
  dpkg-deb -x "$deb" "$work/debroot"
  prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
  for p in qms-controller qms-counter qms-provision qms-kiosk qms-display; do
    [ -x "$work/debroot$prefix/bin/$p" ] || fail "$p not in the .deb"
  done
  ls "$work/debroot$prefix"/share/qms/voice/*.wav >/dev/null 2>&1 || fail "no voice pack in the .deb"
  rm -rf "$work/pkg" "$work/debroot"
fi

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
tls=$(free_port); local_port=$(free_port)
"$R/bin/qms-provision" --config "$R/etc/qms/center.json" --out "$work/broker" --host 127.0.0.1 \
  --port "$tls" --local-port "$local_port" --kiosk k1 --display hall >"$work/provision.log" 2>&1 ||
  fail "qms-provision"
# the provisioned config; a test broker stays root (see tests/support)
{ cat "$work/broker/mosquitto.conf"; echo "user root"; } >"$work/mosquitto.conf"
/usr/sbin/mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$tls") 2>/dev/null && break
  sleep 0.1
done

cl=$work/broker/clients
field() { python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$cl/$1.json" "$2"; }
mq_args() { # name: TLS options and credentials of a client file, for mosquitto_*
  echo -h 127.0.0.1 -p "$tls" --cafile "$cl/ca.crt" --cert "$cl/$1.crt" --key "$cl/$1.key" \
    -u "$(field "$1" username)" -P "$(field "$1" password)" -V mqttv5
}

"$R/bin/qms-controller" --config "$R/etc/qms/center.json" --db "$work/qms.db" \
  --client "$cl/controller.json" --clock 2026-11-26T09:00:00 >"$work/controller.log" 2>&1 &
pids+=($!)
# shellcheck disable=SC2046
timeout 30 mosquitto_sub $(mq_args dashboard) -t qms/demo/device/controller/main/status \
  -C 1 -W 30 >"$work/status.txt" 2>"$work/sub.log" || fail "no controller status"
for _ in $(seq 100); do
  grep -q online "$work/status.txt" && break
  timeout 5 mosquitto_sub $(mq_args dashboard) -t qms/demo/device/controller/main/status \
    -C 1 -W 5 >"$work/status.txt" 2>>"$work/sub.log" || true
done
grep -q online "$work/status.txt" || fail "the installed controller is not online"

# a take, by an outside client with the kiosk's credentials
# shellcheck disable=SC2046
reply=$(timeout 30 mosquitto_rr $(mq_args kiosk-k1) -t qms/demo/ticket/take \
  -e qms/demo/reply/kiosk-k1/install-test -m '{"req":"install-1","service":"TP"}' -W 20) ||
  fail "no reply to the take"
echo "take: $reply"
echo "$reply" | grep -q '"ticket":"A' || fail "take refused: $reply"
ticket=$(echo "$reply" | python3 -c 'import json,sys;print(json.load(sys.stdin)["ticket"])')

# the installed counter client calls it
out=$("$R/bin/qms-counter" --client "$cl/counter-1.json" --lang en next 2>"$work/counter.log") ||
  fail "qms-counter next: $out"
echo "counter: $out"
echo "$out" | grep -q "$ticket" || fail "counter 1 did not call $ticket: $out"

# the installed display uses the installed voice pack
SDL_VIDEODRIVER=offscreen SDL_AUDIODRIVER=dummy "$R/bin/qms-display" \
  --config "$R/etc/qms/center.json" --client "$cl/display-hall.json" --mute \
  --size 640x360 >"$work/display.log" 2>&1 &
dpid=$!
pids+=($dpid)
for _ in $(seq 100); do
  grep -q "voice pack:" "$work/display.log" && break
  sleep 0.1
done
grep -q "voice pack: $R/share/qms/voice" "$work/display.log" ||
  fail "the installed display does not use the installed voice pack"
timeout 20 mosquitto_sub $(mq_args dashboard) -t qms/demo/device/display/hall/status -C 1 -W 20 \
  >"$work/dstatus.txt" 2>>"$work/sub.log" || fail "no display status"
grep -q '"voice":"ok"' "$work/dstatus.txt" || fail "display: $(cat "$work/dstatus.txt")"
echo "installed center: take $ticket, called by counter 1; display voice ok"

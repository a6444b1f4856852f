#!/bin/sh
# Make a small certificate authority for one QMS center, the broker's
# certificate and one client certificate per program (docs/controller.md,
# "Security"). Keep ca.key offline once done.
#   sh examples/make-certs.sh DIR BROKER_IP [NAME...]
#   e.g. sh examples/make-certs.sh /etc/qms/tls 192.168.1.10 controller kiosk-k1 counter-5
# Each NAME gets NAME.crt and NAME.key; the broker (use_identity_as_username)
# knows the program by NAME.
set -eu
dir=${1:?directory}
ip=${2:?broker IP address}
shift 2
[ $# -gt 0 ] || set -- controller
days=${QMS_CERT_DAYS:-825}
mkdir -p "$dir"
cd "$dir"
if [ ! -f ca.crt ]; then
  openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=QMS center CA" \
    -keyout ca.key -out ca.crt 2>/dev/null
fi
sign() { # name [extfile]
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" \
    ${2:+-extfile "$2"} -out "$1.crt" 2>/dev/null
  rm -f "$1.csr"
  chmod 600 "$1.key"
}
# the broker's certificate names its IP address: clients check it
printf 'subjectAltName=IP:%s\n' "$ip" > broker.ext
sign broker broker.ext
rm -f broker.ext
for n in "$@"; do
  sign "$n"
done
chmod 600 ca.key
echo "made in $dir: ca.crt, broker.crt/.key, $(printf '%s.crt/.key ' "$@")"
echo "the broker (user mosquitto) must be able to read broker.key: chown or chgrp it."

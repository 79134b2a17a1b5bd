#!/bin/sh
# certs.sh NAMESPACE DIR — the mutual TLS between imgctl and the BuildKit
# pool of deploy/kubernetes (BuildKit's examples/kubernetes/create-certs.sh,
# with openssl instead of mkcert):
#   DIR/daemon/{ca.pem,cert.pem,key.pem}  the Secret buildkitd-daemon-certs:
#       a certificate for buildkitd.NAMESPACE.svc and every replica's name
#       (*.buildkitd.NAMESPACE.svc[.cluster.local]), and the CA that signed
#       the client certificate;
#   DIR/client/{ca.pem,cert.pem,key.pem}  for imgctl (the CI job):
#       --buildkit-tls-ca, --buildkit-tls-cert, --buildkit-tls-key.
# One CA signs both; keep DIR/ca-key.pem offline (or delete it) and renew
# before the 365 days are over.
set -eu
if [ $# -ne 2 ]; then
	echo "usage: $0 NAMESPACE DIR" >&2
	exit 2
fi
ns=$1
dir=$2
days=${CERT_DAYS:-365}
mkdir -p "$dir/daemon" "$dir/client"
cd "$dir"
umask 077

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
	-subj "/CN=imgctl BuildKit pool CA" -keyout ca-key.pem -out ca.pem \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

sign() { # NAME CN EXTENSIONS
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
		-keyout "$1/key.pem" -out "$1/req.pem" 2>/dev/null
	printf '%s\n' "$3" >"$1/ext.cnf"
	openssl x509 -req -in "$1/req.pem" -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
		-days "$days" -extfile "$1/ext.cnf" -out "$1/cert.pem" 2>/dev/null
	rm -f "$1/req.pem" "$1/ext.cnf"
	cp ca.pem "$1/ca.pem"
}

sign daemon "buildkitd.$ns.svc" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:buildkitd.$ns.svc,DNS:*.buildkitd.$ns.svc,DNS:*.buildkitd.$ns.svc.cluster.local,DNS:localhost,IP:127.0.0.1"
sign client "imgctl" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
rm -f ca.srl
echo "wrote $dir/daemon and $dir/client; next:"
echo "  kubectl -n $ns create secret generic buildkitd-daemon-certs --from-file=$dir/daemon"

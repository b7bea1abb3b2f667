#!/usr/bin/env bash
# Makes the certificates the HBONE tests use, in DIR, with the openssl command line: a mesh CA
# (trust domain cluster.local), a second CA (another mesh), and Istio-style leaves: EC P-256,
# empty subject, one critical URI SAN with the SPIFFE id, serverAuth and clientAuth.
#   ca.pem, foreign-ca.pem
#   ztunnel.{pem,key}    spiffe://cluster.local/ns/istio-system/sa/ztunnel   (mesh CA)
#   meshgate.{pem,key}   spiffe://cluster.local/ns/istio-system/sa/meshgate  (mesh CA)
#   eastwest.{pem,key}   spiffe://cluster.local/ns/istio-gateways/sa/eastwest (mesh CA)
#   web.{pem,key}        spiffe://cluster.local/ns/shop/sa/web               (mesh CA)
#   other-td.{pem,key}   spiffe://other.example/ns/shop/sa/web               (mesh CA, another trust domain)
#   foreign.{pem,key}    spiffe://cluster.local/ns/shop/sa/web               (the second CA)
#   no-spiffe.{pem,key}  DNS:web.shop.svc only                               (mesh CA)
#   expired.{pem,key}    spiffe://cluster.local/ns/shop/sa/web, valid in January 2020 only (mesh CA)
#   intermediate-ca.pem  a CA the mesh CA issued; ca-and-intermediate.pem holds both
#   waypoint.{pem,key}   spiffe://cluster.local/ns/shop/sa/waypoint          (the intermediate; the file holds the leaf only)
#   rsa-ca.pem           a mesh CA with an RSA key, as istiod makes by default
#   rsa-web.{pem,key}    spiffe://cluster.local/ns/shop/sa/web, an RSA key   (the RSA CA)
# Usage: make_test_pki.sh DIR
set -euo pipefail
dir=${1:?usage: make_test_pki.sh DIR}
mkdir -p "$dir"
cd "$dir"

key() {  # name, algorithm (EC P-256 unless RSA)
  if [ "${2:-EC}" = RSA ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null
  else
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"
  fi
}

ca() {  # name, organisation, key algorithm
  key "$1" "${3:-EC}"
  openssl req -x509 -key "$1.key" -out "$1.pem" -days 3650 \
    -subj "/O=$2" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

intermediate() {  # name, issuer, organisation
  key "$1"
  openssl req -new -key "$1.key" -subj "/O=$3" -out "$1.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 3650 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

leaf() {  # name, issuer, subjectAltName, key algorithm
  key "$1" "${4:-EC}"
  openssl req -new -key "$1.key" -subj "/" -out "$1.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=critical,$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 365 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca cluster.local
ca foreign-ca other-mesh
leaf ztunnel ca URI:spiffe://cluster.local/ns/istio-system/sa/ztunnel
leaf web ca URI:spiffe://cluster.local/ns/shop/sa/web
leaf other-td ca URI:spiffe://other.example/ns/shop/sa/web
leaf foreign foreign-ca URI:spiffe://cluster.local/ns/shop/sa/web
leaf no-spiffe ca DNS:web.shop.svc
leaf meshgate ca URI:spiffe://cluster.local/ns/istio-system/sa/meshgate
leaf eastwest ca URI:spiffe://cluster.local/ns/istio-gateways/sa/eastwest
intermediate intermediate-ca ca "cluster.local intermediate"
cat ca.pem intermediate-ca.pem >ca-and-intermediate.pem
leaf waypoint intermediate-ca URI:spiffe://cluster.local/ns/shop/sa/waypoint
ca rsa-ca cluster.local RSA
leaf rsa-web rsa-ca URI:spiffe://cluster.local/ns/shop/sa/web RSA

# An expired leaf: `openssl x509 -req` cannot backdate, `openssl ca` can.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out expired.key
openssl req -new -key expired.key -subj "/" -out expired.csr 2>/dev/null
mkdir -p ca-db
: >ca-db/index.txt
echo 01 >ca-db/serial
cat >ca-db/ca.cnf <<'EOF'
[ca]
default_ca = mesh
[mesh]
database = ca-db/index.txt
new_certs_dir = ca-db
serial = ca-db/serial
default_md = sha256
policy = any
copy_extensions = none
[any]
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = critical,URI:spiffe://cluster.local/ns/shop/sa/web
EOF
openssl ca -batch -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem -notext \
  -startdate 20200101000000Z -enddate 20200201000000Z -extensions leaf 2>/dev/null
rm -rf expired.csr ca-db

#!/bin/sh
# Recreates the certificate fixtures of the credential package's tests with
# the openssl CLI (OpenSSL 3). The keys here are test-only and worthless.
#
#   cd credential/testdata && sh gen.sh
#
# Certificates are valid for 7300 days (20 years) from generation, so the
# tests keep passing for years; rerun this script before they expire.
# PFX files use the password "test-password" (nopass.pfx: the empty one).
set -eu
cd "$(dirname "$0")"
DAYS=7300
PASS=test-password
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# RSA 2048, self-signed, key as PKCS#1 and PKCS#8.
openssl genrsa -traditional -out rsa-pkcs1.key 2048
openssl pkcs8 -topk8 -nocrypt -in rsa-pkcs1.key -out rsa-pkcs8.key
openssl req -x509 -new -key rsa-pkcs1.key -sha256 -days $DAYS -subj "/CN=entra-test-rsa" -out rsa.crt

# ECDSA P-256, self-signed, key as SEC 1 and PKCS#8.
openssl ecparam -name prime256v1 -genkey -noout -out ec-sec1.key
openssl pkcs8 -topk8 -nocrypt -in ec-sec1.key -out ec-pkcs8.key
openssl req -x509 -new -key ec-sec1.key -sha256 -days $DAYS -subj "/CN=entra-test-ec" -out ec.crt

# Encrypted PEM keys, which are refused (use PKCS#12 instead).
openssl pkcs8 -topk8 -v2 aes256 -passout pass:$PASS -in rsa-pkcs1.key -out rsa-encrypted-pkcs8.key
openssl rsa -aes256 -traditional -passout pass:$PASS -in rsa-pkcs1.key -out rsa-encrypted-pkcs1.key

# Ed25519, which is refused.
openssl genpkey -algorithm ed25519 -out "$tmp/ed.key"
openssl req -x509 -new -key "$tmp/ed.key" -days $DAYS -subj "/CN=entra-test-ed25519" -out "$tmp/ed.crt"
cat "$tmp/ed.crt" "$tmp/ed.key" > ed25519.pem

# A chain: root CA -> intermediate CA -> leaf (RSA).
cat > "$tmp/ca.ext" <<'EXT'
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
EXT
cat > "$tmp/leaf.ext" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
EXT
openssl genrsa -out "$tmp/root.key" 2048
openssl req -x509 -new -key "$tmp/root.key" -sha256 -days $DAYS -subj "/CN=entra-test-root" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$tmp/root.crt"
openssl genrsa -out "$tmp/int.key" 2048
openssl req -new -key "$tmp/int.key" -subj "/CN=entra-test-intermediate" -out "$tmp/int.csr"
openssl x509 -req -in "$tmp/int.csr" -CA "$tmp/root.crt" -CAkey "$tmp/root.key" -CAcreateserial \
	-sha256 -days $DAYS -extfile "$tmp/ca.ext" -out "$tmp/int.crt"
openssl genrsa -out "$tmp/leaf.key" 2048
openssl pkcs8 -topk8 -nocrypt -in "$tmp/leaf.key" -out chain-leaf.key
openssl req -new -key "$tmp/leaf.key" -subj "/CN=entra-test-leaf" -out "$tmp/leaf.csr"
openssl x509 -req -in "$tmp/leaf.csr" -CA "$tmp/int.crt" -CAkey "$tmp/int.key" -CAcreateserial \
	-sha256 -days $DAYS -extfile "$tmp/leaf.ext" -out "$tmp/leaf.crt"
# Deliberately out of order: intermediate, root, leaf.
cat "$tmp/int.crt" "$tmp/root.crt" "$tmp/leaf.crt" > chain.pem

# PKCS#12: OpenSSL 3's default (AES-256-CBC, PBKDF2, SHA-256 MAC), with the chain.
cat "$tmp/int.crt" "$tmp/root.crt" > "$tmp/cas.crt"
openssl pkcs12 -export -inkey "$tmp/leaf.key" -in "$tmp/leaf.crt" -certfile "$tmp/cas.crt" \
	-name entra-test -passout pass:$PASS -out chain.pfx
# An empty password.
openssl pkcs12 -export -inkey rsa-pkcs1.key -in rsa.crt -passout pass: -out nopass.pfx
# The legacy format (RC2/3DES, SHA-1 MAC) if this OpenSSL has the legacy provider.
rm -f legacy.pfx
if ! openssl pkcs12 -export -legacy -inkey rsa-pkcs1.key -in rsa.crt -passout pass:$PASS -out legacy.pfx 2>/dev/null; then
	rm -f legacy.pfx
	echo "gen.sh: no legacy provider; legacy.pfx not made (its test is skipped)" >&2
fi

package entratest

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
)

// The emulator's default keys, made once with openssl genpkey (RSA 2048)
// and checked in. Making an RSA key costs about 100 ms and a test suite
// starts hundreds of emulators, so, as net/http/httptest does with its
// server certificate, the package ships its keys instead of making them at
// every start. They protect nothing real: the default client's key is
// handed to every caller anyway, and tokens signed with the default
// signing key are trusted only by whoever trusts this emulator. A process
// that serves others (entra emulator) sets Options.SigningKey to a key of
// its own.

// fixtureSigningKeyPEM signs tokens when Options.SigningKey is nil.
const fixtureSigningKeyPEM = `
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDBkbUEoJo4MnSY
fe/oDxMLqmW1jzFuOlRGQhs0NzEVYj5nqrtRXwrJIcF546MISGVPqzEkUW5TVMjW
Le8JQwf5sXz0BMjdEd3GN6xlPHZZw+kFkfuLnhb8/l4R5gRSUtlBr3qj+Y3f0gFq
g08NU4kq2eIr+1OL9z5ooLIpoFlQJzEzFyEEkyAHIvb7uRWCsPRaXgLVYMdbmcNm
xX46VEm8kyL/y9uARzqckh0+Fr0s+M0RQAweJE7JSYrR5YHo2z7wGKRE+i1blybv
tShCjSK9rtU3b++LmWCi9cBHaYe0nLfSmfDv0a4OADyQrFGu3t7bMNUVESmT0Rd2
1ry/92+jAgMBAAECggEAFzNOnfpd4aRygyB9E7RS1RAcVrGN/CczmKQtvIls8aIv
1p8JCoy4rzjDhsd47/I1amIbZr332jcMR1eEEfkdyJi0YE7+gDi2+x4LJKsliEbJ
9Cf2HVraaIJYZg7Kr89MSOouad7sWUpDby/D1tYPV7p7uEfMULdWnJW+JO0aJ1gF
wHzDMScETn0qJp4NxEoFzmB0qi0lH98Oc9pRqWPzD3Ezy0NTBGbOPdnYiEW9sCiq
fOq3tqpV3n0vNv2Ngw83mW1eDRQRvq7t2neCmjDexT6QSUCT3Ch2s3zYbgkG8BZP
1+4Oa+ghYjUx7FxIWBos5Is/eJMig4N5PdSXNwLGwQKBgQDsl6mmij8lYXE11/3m
RNcxTX9FIR2B5CaarfVhkt6q0jp0i40FXnPt6SaFciQi+busNSDQo3tmIyje/AIf
v+bynmy2ihFjcp8r47RE2JZC76r3GU5fCaTQJQPkFA9RzWWBghFCLNZcw4kSidRv
FMjc+DeYvalAEkpKM6KMo4k+oQKBgQDRcpMhkrtPK8otN6uHSl9QxjR0B09ion8L
S6Q6Yua6eXGStEhHVB5eHZC73ugTq0JBsTnWoYn2eR48kKxSRLKjk3DTeuWyx1h/
MHXrV9xxxlhsWXu064nmTg0b0lChOH0fGiSu0/nfxDScE3tWUacJQuIpN2ooczg7
zN9aVDnbwwKBgQCTssZ9Klbrbh5vv6xIoXc51yh5roeuPBEBhVHnnPmW6HEHqsrZ
rDJxNpkOu8flccQAaJZYyYZSp+Zu9iIZUgLKOa6iciUS0U6e5qL2S8Pae6ZeZhTv
7aRPMJxyOTerGK+inuFJT5ZvCL68rQDKa85NbEPA/b34OrLYCc4TQFCAoQKBgANG
mHiA8/8D/1B/u2YNSrpXr0BVUO+I/RWvJC1pmJQ4DAewXCUJcsQkEDxv+w87sXiX
jgEGW8MIF+n4lUlgG68lQjF8jZUjOwYaOu3oXOFGqeFf8OheerSoadoSiwJKgOJ4
pTQ6yoCub+g1AcvS0Rr6+dCNNlLVon6E8MVX5ePDAoGBANTjqbg99CkA1IuTmtwx
p9Kioc7LzyC9K1hRKZTKb6MXu9wcdu/j9qSovQOXp+dZYuQoy4uWU1VR2ELwrM3S
8WM34HaaJj8OQDMaaIdntq3YaYuBZCU+k5QpL9hXaGYqmOeBnq2F53cOw+BaTIZS
lnu2kBG3NeagD1uK6B0h9Bjj
-----END PRIVATE KEY-----
`

// fixtureClientKeyPEM is the key of the default client's certificate.
const fixtureClientKeyPEM = `
-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQC4fxrLvQ25lR7u
QTdHA9KhBTMr6SlzOa0GBFfAho6SDMaEXp68AC1/Nj5VrFL9ZuAHLX4gbfSGo8fP
TrsoAMUlDHJ08Ocjocpka3/ioGUV8+Sp4ryXyXs/YJ49oLY39fNGxMEa8tvPKi2/
NaG/5Rv2mH3gB/aSaODEB/sD3SCkQQg86Y3mTAI1mw2XSzbtgWhDW6D8A3AxAqRt
Tcq2g+NXArxvqVXejIHZle/cqU/2+FJ9bVxFO1csK9gc1LM0waTzIiPeJwzneRwx
gmMogABF9zyfYLT9em2svoF7Pyi7b0sjXVV+y9Vl2C8EMf9B8t86HilItVDKN4MZ
Vl5hf5mRAgMBAAECgf9fXqol/JQbr/n32b5j90CUpnDNQg8rK6VFIaQ64VN8K8kd
Tna/Yq13aj15YUWFDVNrt8MlqwZmku22kVGDBuLh7o075fZAH7d/hrzqE/+CWZDa
QK/nG+pEg1fz2MpYzcqedRaygi0d6a+8J6fKik7qKemSOouQeKZiBGi9QTvzq3NU
R/y3YRLlbG41LCPWhPphEg+3ofhUJCc0patKCsndzhdRXcWtzgvVU2g/0crtndie
DL/8ga0ZgMk8j/nPv/GZyq8xpi6wU3EW/0tVRNAnOvjc9ZLeLR+Q0cUPZgWhe4ig
aq8sLcvAYuhNTzzVg2JfTTvfHEPKzsFxqGb485ECgYEA7cP6ehuCfOPjTghJhrws
r19HjYYeKVE9l9T7uuJbyATsvWkang7xaiGthc61oqdrueNu6JLVF+ozNPkl/W13
//Ittt5DrO+/2g0/zbbOmtEW7Ce4X9yH6NqHyLrBWQvLesAULUNoGQhvV+eGdnFW
0u92XHzzivhHe8p6CeMmPT0CgYEAxqVNQZSOmhDqtAUijA/QPexeBlRPooP83NnV
2ckbtFLfRG4i2zCBL6HomAPXORVd9aZydOqmGAorJ9WgwfOq1+mbiBxCujxh8/T7
jbY++j37J6lxUj0os7+f02xWUT3RR3ipR/qGnjE1RLE1IV0FYPyXy9Dk+ZhoMquP
5FzHOuUCgYEAyv3WiwmRji7BkY1huLZPMCqYXCt09LF3dHlRsWwwD8SkmdFx+B+p
3IKEMwkX6ZYmUr3pooY5iAFbVo6f8I3VNZ79iHKaNLs7gF5vaqH4IhUBDP2cW7tc
DWEFLErFZ9C6GEKE91/lL/oTlWkFU3nQNqZa1vuWsb7myLlFF8vmicECgYEAkF/0
FoXyXueMrepNgZ68q0Tv0YnVlzh2v81TMEaKbDUPMJ0bmFNYkVYLxvCDrGlrMO8Y
oQEqVq6NTxZlEJIYyXRwJizkEpdwWe7kJcsfWqFRuTHduvfYbUwIzZEf60wSnu+D
mVzsGm2JWbOx+d2x2xu699eLlBzBHpKysjb8VkECgYB97WvAba+cmxMsAsi0P1j0
NDeOAImE8IiUhoJFWt8o6Cg3HJANDrb5YutWX16DWfZoOvhAkrCrO0w+bTYQAyjA
wnkXldrVXs7n2Mc541Tqv09hNMAR1Asruq+PaELaEr/LV+qLmMLjFyvfQtkzzE0b
5jKz9+EwRSTszJIW8g00DA==
-----END PRIVATE KEY-----
`

// parseRSAKey reads a PKCS #8 PEM RSA private key.
func parseRSAKey(text string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("entratest: no PEM key")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("entratest: the key is not an RSA key")
	}
	return rsaKey, nil
}

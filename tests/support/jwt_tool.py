#!/usr/bin/python3
"""Keys and tokens for the auth tests, made with PyJWT and cryptography
(Debian's python3-jwt, python3-cryptography): an implementation independent
of the relay's, so the tests catch a verifier that only agrees with itself.

  jwt_tool.py keys DIR          RSA (two), EC P-256 and P-384 key pairs, a
                                secret, and a JWKS of rsa1 (kid "one"), rsa2
                                (kid "two") and ec256 (kid "ec")
  jwt_tool.py tokens SPEC...    one token per line; SPEC is JSON:
      {"alg": "RS256", "key": "DIR/rsa1.key", "claims": {...},
       "exp_in": 600, "nbf_in": 0, "headers": {"kid": "two"}}
    exp_in / nbf_in / iat_in are seconds from now; "key" is a private key
    file or, for HS*, the secret file (its bytes); "alg": "none" makes an
    unsigned token. Attacks: "hmac_with": FILE signs HS256 with that file's
    bytes whatever they are (PyJWT refuses a PEM public key as an HMAC
    secret; an attacker would not); "reencode": true spells the signed
    payload's JSON differently afterwards (same claims, other bytes).
"""
import hashlib
import hmac
import base64
import json
import os
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def b64(n, size=None):
    raw = n.to_bytes(size or (n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def keys(folder):
    made = {
        "rsa1": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "rsa2": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec256": ec.generate_private_key(ec.SECP256R1()),
        "ec384": ec.generate_private_key(ec.SECP384R1()),
    }
    for name, key in made.items():
        write(os.path.join(folder, name + ".key"), key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        write(os.path.join(folder, name + ".pub"), key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    write(os.path.join(folder, "secret"), os.urandom(32).hex().encode())
    jwks = []
    for name, kid in (("rsa1", "one"), ("rsa2", "two")):
        pub = made[name].public_key().public_numbers()
        jwks.append({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                     "n": b64(pub.n), "e": b64(pub.e)})
    pub = made["ec256"].public_key().public_numbers()
    jwks.append({"kty": "EC", "kid": "ec", "crv": "P-256",
                 "x": b64(pub.x, 32), "y": b64(pub.y, 32)})
    write(os.path.join(folder, "jwks.json"), json.dumps({"keys": jwks}).encode())


def part(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(spec):
    claims = dict(spec.get("claims", {}))
    now = int(time.time())
    for name in ("exp", "nbf", "iat"):
        if name + "_in" in spec:
            claims[name] = now + spec[name + "_in"]
    alg = spec["alg"]
    if "hmac_with" in spec:
        with open(spec["hmac_with"], "rb") as f:
            key = f.read()
        signed = part(b'{"alg":"HS256","typ":"JWT"}') + "." + part(json.dumps(claims).encode())
        mac = hmac.new(key, signed.encode(), hashlib.sha256).digest()
        return signed + "." + part(mac)
    if spec.get("reencode"):
        good = token({k: v for k, v in spec.items() if k != "reencode"})
        head, payload, sig = good.split(".")
        spaced = json.dumps(claims, separators=(", ", ": ")).encode()
        return head + "." + part(spaced) + "." + sig
    if alg == "none":
        return jwt.encode(claims, None, algorithm="none", headers=spec.get("headers"))
    with open(spec["key"], "rb") as f:
        key = f.read()
    if not alg.startswith("HS"):
        key = serialization.load_pem_private_key(key, password=None)
    return jwt.encode(claims, key, algorithm=alg, headers=spec.get("headers"))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "keys":
        keys(sys.argv[2])
    elif len(sys.argv) >= 2 and sys.argv[1] == "tokens":
        for arg in sys.argv[2:]:
            print(token(json.loads(arg)))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()

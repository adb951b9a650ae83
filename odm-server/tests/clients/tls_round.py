"""TLS with pymongo against an odm-server started with --tls-cert/--tls-key (and, with
a third argument, --tls-ca).

Usage: python3 tls_round.py HOST:PORT CA.pem [CLIENT.pem]
Connects with tls=true trusting the test CA (presenting CLIENT.pem when given), writes
and reads back; checks that a client which does not present the certificate, when one
is required, cannot connect. Exits non-zero at the first difference.
"""

import sys

import pymongo
from pymongo.errors import PyMongoError


def check(step, got, expected):
    if got != expected:
        sys.exit(f"FAIL {step}: expected {expected!r}, got {got!r}")
    print(f"ok   {step}: {got!r}")


def connect(addr, ca, client_cert=None):
    options = {"tls": True, "tlsCAFile": ca, "serverSelectionTimeoutMS": 3000}
    if client_cert:
        options["tlsCertificateKeyFile"] = client_cert
    return pymongo.MongoClient(f"mongodb://{addr}/", **options)


def main(addr, ca, client_cert=None):
    client = connect(addr, ca, client_cert)
    coll = client.clients_tls.items
    coll.insert_one({"_id": 1, "note": "over tls"})
    check("read back over TLS", coll.find_one({"_id": 1})["note"], "over tls")
    if client_cert:
        try:
            connect(addr, ca).admin.command("ping")
            refused = False
        except PyMongoError:
            refused = True
        check("no client certificate", refused, True)


if __name__ == "__main__":
    main(*sys.argv[1:])

"""Access control with pymongo against an odm-server started with --auth.

Usage: python3 auth_round.py HOST:PORT
Creates the first user through the localhost exception, then checks SCRAM-SHA-256 and
SCRAM-SHA-1 logins, AuthenticationFailed (18) for a wrong password, Unauthorized (13)
before login and for a read-only user's write. Exits non-zero at the first difference.
"""

import sys

import pymongo
from pymongo.errors import OperationFailure


def check(step, got, expected):
    if got != expected:
        sys.exit(f"FAIL {step}: expected {expected!r}, got {got!r}")
    print(f"ok   {step}: {got!r}")


def code_of(action):
    try:
        action()
    except OperationFailure as e:
        return e.code
    return None


def client(addr, user=None, password=None, mechanism="SCRAM-SHA-256", source="admin"):
    if user is None:
        return pymongo.MongoClient(f"mongodb://{addr}/", serverSelectionTimeoutMS=5000)
    return pymongo.MongoClient(
        f"mongodb://{addr}/",
        username=user,
        password=password,
        authSource=source,
        authMechanism=mechanism,
        serverSelectionTimeoutMS=5000,
    )


def main(addr):
    anonymous = client(addr)
    check("ping before login", anonymous.admin.command("ping")["ok"], 1.0)
    check("find before login", code_of(lambda: anonymous.shop.items.find_one()), 13)
    anonymous.admin.command("createUser", "py_root", pwd="py secret", roles=["root"])
    check(
        "a second user without login",
        code_of(lambda: anonymous.admin.command("createUser", "x", pwd="x", roles=[])),
        13,
    )

    root = client(addr, "py_root", "py secret")
    root.shop.command("createUser", "py_reader", pwd="r", roles=["read"])
    root.shop.items.insert_one({"_id": 1, "name": "pen"})
    check("root reads", root.shop.items.find_one({"_id": 1})["name"], "pen")

    sha1 = client(addr, "py_root", "py secret", mechanism="SCRAM-SHA-1")
    check("SCRAM-SHA-1 login", sha1.shop.items.count_documents({}), 1)

    reader = client(addr, "py_reader", "r", source="shop")
    check("reader reads", reader.shop.items.find_one({"_id": 1})["name"], "pen")
    check("reader writes", code_of(lambda: reader.shop.items.insert_one({"_id": 2})), 13)

    wrong = client(addr, "py_reader", "wrong", source="shop")
    check("wrong password", code_of(lambda: wrong.shop.command("ping")), 18)
    unknown = client(addr, "nobody", "r", source="shop")
    check("unknown user", code_of(lambda: unknown.shop.command("ping")), 18)
    status = reader.shop.command("connectionStatus")["authInfo"]["authenticatedUsers"]
    check("connectionStatus", status, [{"user": "py_reader", "db": "shop"}])


if __name__ == "__main__":
    main(sys.argv[1])

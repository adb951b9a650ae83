"""MongoEngine models that ordinary applications declare, against odm-server: a store
locator (PointField, which MongoEngine indexes as 2dsphere), a search box (a weighted
text index), case-insensitive unique e-mails (a collation), an event log (a capped
collection), a hashed shard-style key, and MongoEngine's query_counter (the profiler).

Usage: python index_kinds.py mongodb://HOST:PORT/
"""

import sys

from mongoengine import (
    Document,
    IntField,
    NotUniqueError,
    PointField,
    StringField,
    connect,
)
from mongoengine.context_managers import query_counter


class Store(Document):
    name = StringField(required=True)
    location = PointField()


class Post(Document):
    title = StringField()
    body = StringField()
    meta = {
        "indexes": [
            {"fields": ["$title", "$body"], "default_language": "english", "weights": {"title": 10, "body": 2}}
        ]
    }


class Account(Document):
    email = StringField()
    meta = {"indexes": [{"fields": ["email"], "unique": True, "collation": {"locale": "en", "strength": 2}}]}


class Event(Document):
    message = StringField()
    meta = {"max_documents": 3, "max_size": 1 << 20}


class Session(Document):
    user = StringField()
    meta = {"indexes": ["#user"]}


class Counter(Document):
    n = IntField()


def check(label, got, expected):
    if got != expected:
        raise SystemExit(f"FAIL {label}: expected {expected!r}, got {got!r}")
    print(f"ok   {label}: {got!r}")


def main(uri):
    db = connect(host=uri + "clients_mongoengine", uuidRepresentation="standard")
    db.drop_database("clients_mongoengine")

    for name, lng, lat in [("Paris", 2.3522, 48.8566), ("London", -0.1276, 51.5072), ("Berlin", 13.405, 52.52)]:
        Store(name=name, location=[lng, lat]).save()
    nearest = [s.name for s in Store.objects(location__near=[2.35, 48.85], location__max_distance=400_000)]
    check("stores near Paris within 400 km", nearest, ["Paris", "London"])
    box = [[-5, 45], [15, 45], [15, 55], [-5, 55], [-5, 45]]
    within = sorted(s.name for s in Store.objects(location__geo_within=[box]))
    check("stores within a polygon", within, ["Berlin", "London", "Paris"])

    Post(title="Rust for databases", body="an embedded server").save()
    Post(title="Gardening", body="rust on tools, and how to clean it").save()
    Post(title="Cooking", body="nothing to see").save()
    hits = [p.title for p in Post.objects.search_text("rust").order_by("$text_score")]
    check("text search, best first", hits, ["Rust for databases", "Gardening"])

    Account(email="ann@x.com").save()
    try:
        Account(email="Ann@X.com").save()
        raise SystemExit("FAIL case-insensitive unique e-mail: the second save was accepted")
    except NotUniqueError:
        print("ok   case-insensitive unique e-mail: NotUniqueError")

    for i in range(5):
        Event(message=f"event {i}").save()
    check("capped event log keeps the newest", [e.message for e in Event.objects], ["event 2", "event 3", "event 4"])
    check("capped collection options", bool(Event._get_collection().options().get("capped")), True)

    Session(user="u1").save()
    check("hashed index lookup", Session.objects(user="u1").count(), 1)

    with query_counter() as q:
        Counter(n=1).save()
        Counter.objects(n=1).first()
        check("query_counter after an insert and a find", int(q), 2)

    print("MongoEngine index kinds round passed")


if __name__ == "__main__":
    main(sys.argv[1])

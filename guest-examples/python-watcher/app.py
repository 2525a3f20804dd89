"""index-watcher in Python: a wasi:keyvalue watcher (world watch-service of
wasi:keyvalue@0.2.0-draft2) built with componentize-py, that keeps a
secondary index of the user: keys of its store.

Registered with `watch: [{store: ..., prefix: "user:"}]`, it is called once
per change to a `user:ID` key whose value is a name, and keeps in the same
store:

    index:NAME:ID   = user:ID      find users by name: list keys index:NAME:
    shadow:ID       = NAME         the name indexed for ID, to unindex it later
    stats:sets      = N            changes seen, as decimal counters
    stats:deletes   = N

It writes no user: key, so its own writes never call it again.
"""

from wit_world import exports
from wit_world.imports import atomics, store


def user_id(key: str) -> str:
    return key.removeprefix("user:")


def unindex(bucket: store.Bucket, uid: str) -> None:
    """Remove the index entry of user `uid`, if it has one."""
    old = bucket.get(f"shadow:{uid}")
    if old is not None:
        bucket.delete(f"index:{old.decode('utf-8', 'replace')}:{uid}")
        bucket.delete(f"shadow:{uid}")


class Watcher(exports.Watcher):
    def on_set(self, bucket: store.Bucket, key: str, value: bytes) -> None:
        uid = user_id(key)
        name = value.decode("utf-8", "replace")
        unindex(bucket, uid)
        bucket.set(f"index:{name}:{uid}", key.encode())
        bucket.set(f"shadow:{uid}", value)
        atomics.increment(bucket, "stats:sets", 1)

    def on_delete(self, bucket: store.Bucket, key: str) -> None:
        unindex(bucket, user_id(key))
        atomics.increment(bucket, "stats:deletes", 1)

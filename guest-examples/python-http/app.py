"""http-kv in Python: an HTTP guest (wasi:http/proxy) with its state in the
host's stores through wasi:keyvalue@0.2.0-draft2, built with componentize-py.

    GET /counter        increments `counter`, answers the new value
    GET /kv/KEY         the value, or 404
    PUT /kv/KEY         sets KEY to the request body (204)
    DELETE /kv/KEY      204
    GET /kv?prefix=P    the keys starting with P, a JSON array

A store error is an answer (503 when the store is unavailable, else 500),
never a trap.
"""

import json
from urllib.parse import parse_qs

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import atomics, store
from wit_world.imports.streams import StreamError_Closed
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    Method_Delete,
    Method_Get,
    Method_Put,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        try:
            status, content_type, body = route(request)
        except Err as e:
            status, content_type, body = store_error(e.value)
        respond(response_out, status, content_type, body)


def route(request: IncomingRequest) -> tuple[int, str, bytes]:
    path, _, query = (request.path_with_query() or "/").partition("?")
    method = request.method()
    with store.open("") as bucket:
        if path == "/counter" and isinstance(method, Method_Get):
            return 200, "text/plain", f"{atomics.increment(bucket, 'counter', 1)}\n".encode()
        if path == "/kv" and isinstance(method, Method_Get):
            prefix = parse_qs(query).get("prefix", [""])[0]
            keys = [k for k in list_keys(bucket) if k.startswith(prefix)]
            return 200, "application/json", (json.dumps(keys, separators=(",", ":")) + "\n").encode()
        if path.startswith("/kv/") and len(path) > 4:
            key = path[4:]
            if isinstance(method, Method_Get):
                value = bucket.get(key)
                if value is None:
                    return 404, "text/plain", f"no key {key}\n".encode()
                return 200, "application/octet-stream", value
            if isinstance(method, Method_Put):
                bucket.set(key, read_body(request))
                return 204, "text/plain", b""
            if isinstance(method, Method_Delete):
                bucket.delete(key)
                return 204, "text/plain", b""
            return 405, "text/plain", b"GET, PUT or DELETE\n"
    return 404, "text/plain", b"routes: GET /counter, GET|PUT|DELETE /kv/KEY, GET /kv?prefix=P\n"


def list_keys(bucket: store.Bucket) -> list[str]:
    """Every key, following the cursor a page at a time."""
    keys: list[str] = []
    cursor = None
    while True:
        page = bucket.list_keys(cursor)
        keys.extend(page.keys)
        cursor = page.cursor
        if cursor is None:
            return keys


def store_error(error: object) -> tuple[int, str, bytes]:
    if isinstance(error, store.Error_AccessDenied):
        return 403, "text/plain", b"store: access denied\n"
    if isinstance(error, store.Error_Other):
        status = 503 if error.value.startswith("unavailable") else 500
        return status, "text/plain", f"store: {error.value}\n".encode()
    return 500, "text/plain", b"store: no such store\n"


def read_body(request: IncomingRequest) -> bytes:
    chunks = []
    with request.consume() as body:
        with body.stream() as stream:
            while True:
                try:
                    chunks.append(stream.blocking_read(64 * 1024))
                except Err as e:
                    if isinstance(e.value, StreamError_Closed):
                        break
                    raise
    return b"".join(chunks)


def respond(response_out: ResponseOutparam, status: int, content_type: str, body: bytes) -> None:
    response = OutgoingResponse(Fields.from_list([("content-type", content_type.encode())]))
    response.set_status_code(status)
    outgoing = response.body()
    ResponseOutparam.set(response_out, Ok(response))
    with outgoing.write() as stream:
        # wasi:io allows at most 4096 bytes per blocking write.
        for start in range(0, len(body), 4096):
            stream.blocking_write_and_flush(body[start : start + 4096])
    OutgoingBody.finish(outgoing, None)

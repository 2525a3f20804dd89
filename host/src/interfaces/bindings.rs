//! Host bindings generated from `wit/`, twice, as wasmtime-wasi has them:
//! these, whose data operations are async (for engines with async support),
//! and [`sync`], where every function is synchronous. Everything that does
//! no I/O (`open`, `info`, dropping a handle) is synchronous in both.
//! Private: embedders use `add_to_linker_sync` / `add_to_linker_async`.

wasmtime::component::bindgen!({
    path: "wit",
    world: "kvhost:store/host",
    imports: {
        "kvhost:store/store.[method]bucket.get": async | trappable,
        "kvhost:store/store.[method]bucket.set": async | trappable,
        "kvhost:store/store.[method]bucket.delete": async | trappable,
        "kvhost:store/store.[method]bucket.exists": async | trappable,
        "kvhost:store/store.[method]bucket.clear": async | trappable,
        "kvhost:store/store.[method]bucket.list-keys": async | trappable,
        "kvhost:store/store.[method]bucket.get-entry": async | trappable,
        "kvhost:store/store.[method]bucket.put": async | trappable,
        "kvhost:store/store.[method]bucket.increment": async | trappable,
        "kvhost:store/store.[method]bucket.get-many": async | trappable,
        "kvhost:store/store.[method]bucket.set-many": async | trappable,
        "kvhost:store/store.[method]bucket.delete-many": async | trappable,
        "wasi:keyvalue/store@0.2.0-draft2.[method]bucket.get": async | trappable,
        "wasi:keyvalue/store@0.2.0-draft2.[method]bucket.set": async | trappable,
        "wasi:keyvalue/store@0.2.0-draft2.[method]bucket.delete": async | trappable,
        "wasi:keyvalue/store@0.2.0-draft2.[method]bucket.exists": async | trappable,
        "wasi:keyvalue/store@0.2.0-draft2.[method]bucket.list-keys": async | trappable,
        "wasi:keyvalue/atomics@0.2.0-draft2.[static]cas.new": async | trappable,
        "wasi:keyvalue/atomics@0.2.0-draft2.increment": async | trappable,
        "wasi:keyvalue/atomics@0.2.0-draft2.swap": async | trappable,
        "wasi:keyvalue/batch@0.2.0-draft2.get-many": async | trappable,
        "wasi:keyvalue/batch@0.2.0-draft2.set-many": async | trappable,
        "wasi:keyvalue/batch@0.2.0-draft2.delete-many": async | trappable,
        "wasi:keyvalue/store@0.2.0-draft.[method]bucket.get": async | trappable,
        "wasi:keyvalue/store@0.2.0-draft.[method]bucket.set": async | trappable,
        "wasi:keyvalue/store@0.2.0-draft.[method]bucket.delete": async | trappable,
        "wasi:keyvalue/store@0.2.0-draft.[method]bucket.exists": async | trappable,
        "wasi:keyvalue/store@0.2.0-draft.[method]bucket.list-keys": async | trappable,
        "wasi:keyvalue/atomics@0.2.0-draft.increment": async | trappable,
        "wasi:keyvalue/batch@0.2.0-draft.get-many": async | trappable,
        "wasi:keyvalue/batch@0.2.0-draft.set-many": async | trappable,
        "wasi:keyvalue/batch@0.2.0-draft.delete-many": async | trappable,
        default: trappable,
    },
    with: {
        "kvhost:store/store.bucket": crate::access::Bucket,
        "wasi:keyvalue/store@0.2.0-draft2.bucket": crate::access::Bucket,
        "wasi:keyvalue/store@0.2.0-draft.bucket": crate::access::Bucket,
        "wasi:keyvalue/atomics@0.2.0-draft2.cas": super::Cas,
    },
    trappable_error_type: {
        "kvhost:store/types.error" => crate::error::Error,
        "wasi:keyvalue/store@0.2.0-draft2.error" => crate::error::Error,
        "wasi:keyvalue/store@0.2.0-draft.error" => crate::error::Error,
    },
    require_store_data_send: true,
});

/// The same interfaces with every function synchronous.
pub(crate) mod sync {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "kvhost:store/host",
        imports: { default: trappable },
        with: {
            // Only types, so shared with the async bindings.
            "kvhost:store/types": super::kvhost::store::types,
            "kvhost:store/store.bucket": crate::access::Bucket,
            "wasi:keyvalue/store@0.2.0-draft2.bucket": crate::access::Bucket,
            "wasi:keyvalue/store@0.2.0-draft.bucket": crate::access::Bucket,
            "wasi:keyvalue/atomics@0.2.0-draft2.cas": crate::interfaces::Cas,
        },
        trappable_error_type: {
            "kvhost:store/types.error" => crate::error::Error,
            "wasi:keyvalue/store@0.2.0-draft2.error" => crate::error::Error,
            "wasi:keyvalue/store@0.2.0-draft.error" => crate::error::Error,
        },
        require_store_data_send: true,
    });
}

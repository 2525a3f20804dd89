//! Host bindings generated from `wit/`. Private: embedders use [`crate::add_to_linker`].

wasmtime::component::bindgen!({
    path: "../wit",
    world: "kvhost:store/host",
    imports: { default: trappable },
    with: {
        "kvhost:store/store.bucket": crate::ctx::Bucket,
        "wasi:keyvalue/store@0.2.0-draft2.bucket": crate::ctx::Bucket,
        "wasi:keyvalue/store@0.2.0-draft.bucket": crate::ctx::Bucket,
        "wasi:keyvalue/atomics@0.2.0-draft2.cas": crate::ctx::Cas,
    },
    trappable_error_type: {
        "kvhost:store/types.error" => crate::Error,
        "wasi:keyvalue/store@0.2.0-draft2.error" => crate::Error,
        "wasi:keyvalue/store@0.2.0-draft.error" => crate::Error,
    },
});

//! Host bindings generated from `wit/`. Private: embedders use [`crate::add_to_linker`].

wasmtime::component::bindgen!({
    path: "../wit",
    world: "kvhost:store/guest",
    imports: { default: trappable },
    with: {
        "kvhost:store/store.bucket": crate::ctx::Bucket,
    },
    trappable_error_type: {
        "kvhost:store/types.error" => crate::Error,
    },
});

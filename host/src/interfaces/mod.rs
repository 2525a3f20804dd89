//! The host side of each WIT interface, one file each, all on [`crate::KvView`].

mod kvhost_store;
mod wasi_draft;
mod wasi_draft2;

//! Reading configuration: typed fields out of YAML mappings, with errors
//! that name the file, the entry and the field. The registry reads entries
//! with it, and each backend its own kinds' fields.

mod error;
mod fields;
mod values;

pub(crate) use error::Location;
pub use error::{ConfigError, FieldError, RegistryError};
pub(crate) use fields::{Fields, type_name};
pub(crate) use values::substitute_env;
#[cfg(test)]
#[allow(unused_imports)] // the registry's tests use it, when every backend is built
pub(crate) use values::test_env;
pub use values::{parse_duration, parse_size};

//! Registry errors: each names the file, the entry and the field.

use std::fmt;
use std::path::PathBuf;

/// One problem in a registry file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The YAML file.
    pub file: PathBuf,
    /// The entry's ID (`namespace:name`), when the problem is inside an entry.
    pub entry: Option<String>,
    /// The field, dotted for nested ones (`lifecycle.requires`).
    pub field: Option<String>,
    /// What is wrong, and how to fix it where that is not obvious.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(entry) = &self.entry {
            write!(f, ": entry {entry}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// A value that breaks a rule, as the code that checks it reports it: the
/// field at fault, spelled as a registry file spells it (`max_key_bytes`,
/// `table_name`, `stores[2].as`) or as the caller named it, and what is
/// wrong. The registry turns it into a [`ConfigError`] that also names the
/// file and the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field at fault.
    pub field: String,
    /// What is wrong, and how to fix it where that is not obvious.
    pub message: String,
}

impl FieldError {
    /// `message` about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Every problem found while loading a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError(pub Vec<ConfigError>);

impl RegistryError {
    /// The problems, in file order.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RegistryError {}

impl From<ConfigError> for RegistryError {
    fn from(e: ConfigError) -> Self {
        Self(vec![e])
    }
}

/// Where in the registry a value sits; makes errors.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    pub file: PathBuf,
    pub entry: Option<String>,
}

impl Location {
    pub(crate) fn error(&self, field: Option<&str>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            entry: self.entry.clone(),
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

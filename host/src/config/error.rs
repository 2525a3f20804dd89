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
    pub fn error(&self, field: Option<&str>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            entry: self.entry.clone(),
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

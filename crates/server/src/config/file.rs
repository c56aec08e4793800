//! The configuration file (`gatehouse --config FILE`, or `GATEHOUSE_CONFIG`): TOML whose keys
//! are the environment variables' names without `GATEHOUSE_`, in lower case. A variable that
//! is set overrides the file's key; an unknown key, or a value of the wrong kind, stops the
//! start with the file and the key named.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{ConfigError, KEYS};

/// The largest configuration file read: a few dozen keys fit in far less.
const MAX_LEN: u64 = 1024 * 1024;

/// Keys whose value may be a TOML array of strings (read as the variable's comma-separated list).
const LISTS: [&str; 1] = ["GATEHOUSE_TRUSTED_PROXIES"];

/// Why a configuration could not be loaded: a bad variable, a bad key in the file, or a file
/// that cannot be read as TOML at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Value(ConfigError),
    #[error("{}: {}: {}", file.display(), file_key(error.key), error.problem)]
    InFile { file: PathBuf, error: ConfigError },
    #[error("{}: {problem}", file.display())]
    File { file: PathBuf, problem: String },
}

/// A key of the file: `GATEHOUSE_PUBLIC_URL` is `public_url`.
pub fn file_key(variable: &str) -> String {
    variable.strip_prefix("GATEHOUSE_").unwrap_or(variable).to_ascii_lowercase()
}

/// A configuration file's values, by variable name, each as the variable would spell it.
#[derive(Debug, Default)]
pub struct ConfigFile {
    path: PathBuf,
    values: HashMap<&'static str, String>,
}

impl ConfigFile {
    /// Reads and checks `path`: TOML, known keys only, strings or whole numbers (lists of
    /// strings where a variable takes a comma-separated list).
    pub fn read(path: &Path) -> Result<Self, LoadError> {
        let fail = |problem: String| LoadError::File { file: path.to_path_buf(), problem };
        let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::Read::take(file, MAX_LEN + 1), &mut text)
            .map_err(|e| fail(format!("cannot read it as UTF-8 text: {e}")))?;
        if text.len() as u64 > MAX_LEN {
            return Err(fail(format!("is larger than {} KiB", MAX_LEN / 1024)));
        }
        Self::parse(path, &text)
    }

    /// [`ConfigFile::read`] of a file's text.
    pub fn parse(path: &Path, text: &str) -> Result<Self, LoadError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| LoadError::File {
            file: path.to_path_buf(),
            problem: format!("not valid TOML: {}", e.to_string().trim_end()),
        })?;
        let mut values = HashMap::new();
        for (key, value) in table {
            let Some(variable) = KEYS.iter().copied().find(|v| file_key(v) == key) else {
                let known: Vec<String> = KEYS.iter().map(|v| file_key(v)).collect();
                return Err(LoadError::File {
                    file: path.to_path_buf(),
                    problem: format!("unknown key `{key}` (the keys are {})", known.join(", ")),
                });
            };
            let bad = |problem: &str| LoadError::InFile {
                file: path.to_path_buf(),
                error: ConfigError { key: variable, problem: problem.to_owned() },
            };
            let value = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Array(items) if LISTS.contains(&variable) => items
                    .into_iter()
                    .map(|item| match item {
                        toml::Value::String(s) => Ok(s),
                        _ => Err(bad("must be a list of strings")),
                    })
                    .collect::<Result<Vec<_>, _>>()?
                    .join(","),
                _ if LISTS.contains(&variable) => return Err(bad("must be a string or a list of strings")),
                _ => return Err(bad("must be a string or a whole number")),
            };
            values.insert(variable, value);
        }
        Ok(Self { path: path.to_path_buf(), values })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's value for `variable`, if it has one.
    pub fn get(&self, variable: &str) -> Option<&str> {
        self.values.get(variable).map(String::as_str)
    }
}

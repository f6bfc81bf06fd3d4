//! Typed access to a stage's `key=value` options with errors that name the stage, the option and what
//! was expected.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::stage::StageDoc;

/// The options given to one stage, checked against its [`StageDoc`].
#[derive(Clone, Debug, Default)]
pub struct StageOptions {
    stage: String,
    values: BTreeMap<String, String>,
}

impl StageOptions {
    /// Collects `pairs` for the stage `doc`, refusing names the stage does not have and repeats.
    pub fn new(doc: &StageDoc, pairs: &[(String, String)]) -> Result<Self> {
        let mut values = BTreeMap::new();
        for (key, value) in pairs {
            if !doc.options.iter().any(|o| o.name == key) {
                let valid: Vec<&str> = doc.options.iter().map(|o| o.name).collect();
                return Err(Error::Option {
                    stage: doc.name.to_string(),
                    option: key.clone(),
                    message: if valid.is_empty() {
                        "this stage takes no options".to_string()
                    } else {
                        format!("unknown option; valid options: {}", valid.join(", "))
                    },
                });
            }
            if values.insert(key.clone(), value.clone()).is_some() {
                return Err(Error::Option {
                    stage: doc.name.to_string(),
                    option: key.clone(),
                    message: "given more than once".to_string(),
                });
            }
        }
        Ok(Self {
            stage: doc.name.to_string(),
            values,
        })
    }

    /// Options built directly, for code that configures stages without a description.
    pub fn from_pairs(stage: &str, pairs: &[(&str, &str)]) -> Self {
        Self {
            stage: stage.to_string(),
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    pub fn stage(&self) -> &str {
        &self.stage
    }

    /// The raw text of an option, if given.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// An error about option `name`.
    pub fn error(&self, name: &str, message: impl Into<String>) -> Error {
        Error::Option {
            stage: self.stage.clone(),
            option: name.to_string(),
            message: message.into(),
        }
    }

    /// Parses option `name` as `T` (`expected` describes valid values for the message).
    pub fn parse<T: FromStr>(&self, name: &str, expected: &str) -> Result<Option<T>> {
        match self.raw(name) {
            None => Ok(None),
            Some(text) => text.trim().parse::<T>().map(Some).map_err(|_| {
                self.error(name, format!("'{text}' is not valid; expected {expected}"))
            }),
        }
    }

    /// A float in `min..=max`, or `default` when absent.
    pub fn f32_in(&self, name: &str, default: f32, min: f32, max: f32) -> Result<f32> {
        let expected = format!("a number from {min} to {max}");
        let value = self.parse::<f32>(name, &expected)?.unwrap_or(default);
        if !(min..=max).contains(&value) || !value.is_finite() {
            return Err(self.error(
                name,
                format!("{value} is out of range; expected {expected}"),
            ));
        }
        Ok(value)
    }

    /// An integer in `min..=max`, or `default` when absent.
    pub fn u32_in(&self, name: &str, default: u32, min: u32, max: u32) -> Result<u32> {
        self.opt_u32_in(name, min, max)
            .map(|v| v.unwrap_or(default))
    }

    /// An integer in `min..=max`, or `None` when absent.
    pub fn opt_u32_in(&self, name: &str, min: u32, max: u32) -> Result<Option<u32>> {
        let expected = format!("a whole number from {min} to {max}");
        let value = self.parse::<u32>(name, &expected)?;
        match value {
            Some(v) if !(min..=max).contains(&v) => {
                Err(self.error(name, format!("{v} is out of range; expected {expected}")))
            }
            other => Ok(other),
        }
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    pub fn bool(&self, name: &str, default: bool) -> Result<bool> {
        match self.raw(name).map(|s| s.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(s) => match s.as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(self.error(name, format!("'{s}' is not valid; expected true or false"))),
            },
        }
    }

    /// One of `choices` (case-insensitive), or `default` when absent.
    pub fn choice<'a>(&self, name: &str, choices: &[&'a str], default: &'a str) -> Result<&'a str> {
        match self.raw(name) {
            None => Ok(default),
            Some(text) => choices
                .iter()
                .find(|c| c.eq_ignore_ascii_case(text.trim()))
                .copied()
                .ok_or_else(|| {
                    self.error(
                        name,
                        format!(
                            "'{text}' is not valid; expected one of {}",
                            choices.join(", ")
                        ),
                    )
                }),
        }
    }

    /// A path option, `default` when it is not given (or empty).
    pub fn path_or(&self, name: &str, default: &str) -> PathBuf {
        PathBuf::from(
            self.raw(name)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or(default),
        )
    }

    /// A path option that must be given.
    pub fn required_path(&self, name: &str) -> Result<PathBuf> {
        self.raw(name)
            .filter(|s| !s.trim().is_empty())
            .map(PathBuf::from)
            .ok_or_else(|| self.error(name, "required; give a file path"))
    }
}

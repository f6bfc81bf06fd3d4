//! The one parser for inputs written with settings, `name[:value...][:key=value...]`:
//! `synthetic:width=640:frames=90`, `camera:0:width=1280:height=720:fps=30:format=mjpeg`,
//! `/dev/video2:fps=60`. Each source then checks its own keys and values.

use crate::error::{Error, Result};

/// An input split into its name, the plain values after it and its `key=value` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputSpec<'a> {
    /// The input as written, for messages.
    pub text: &'a str,
    /// What comes before the first `:`.
    pub head: &'a str,
    /// Plain values before the settings (a camera's number).
    pub values: Vec<&'a str>,
    /// `key=value` settings in order, keys in lower case.
    pub settings: Vec<(String, &'a str)>,
}

impl<'a> InputSpec<'a> {
    /// Splits `text`. Plain values must come before the settings.
    ///
    /// # Errors
    /// [`Error::Input`] naming the input and the piece that is out of place.
    pub fn parse(text: &'a str) -> Result<Self> {
        let mut parts = text.split(':');
        let head = parts.next().unwrap_or_default();
        let mut spec = InputSpec {
            text,
            head,
            values: Vec::new(),
            settings: Vec::new(),
        };
        for part in parts {
            match part.split_once('=') {
                Some((key, value)) if !key.trim().is_empty() => spec
                    .settings
                    .push((key.trim().to_ascii_lowercase(), value.trim())),
                _ if spec.settings.is_empty() && !part.is_empty() && !part.contains('=') => {
                    spec.values.push(part.trim());
                }
                _ => {
                    return Err(Error::input(
                        text,
                        format!("'{part}' is not key=value (settings are written key=value, after the name and its number)"),
                    ))
                }
            }
        }
        Ok(spec)
    }

    /// `value` of `key` as a whole number in `range`.
    ///
    /// # Errors
    /// [`Error::Input`] naming the input, the key and the range.
    pub fn number(
        &self,
        key: &str,
        value: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64> {
        value
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                Error::input(
                    self.text,
                    format!(
                        "{key}={value} is not a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )
            })
    }

    /// The error for a key this input does not take, listing those it does.
    pub fn unknown(&self, key: &str, known: &str) -> Error {
        Error::input(self.text, format!("unknown key '{key}'; expected {known}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_name_values_and_settings() {
        let spec = InputSpec::parse("camera:2:Width=1280:fps=30").unwrap();
        assert_eq!(spec.head, "camera");
        assert_eq!(spec.values, vec!["2"]);
        assert_eq!(
            spec.settings,
            vec![("width".to_string(), "1280"), ("fps".to_string(), "30")]
        );
        let spec = InputSpec::parse("synthetic").unwrap();
        assert!(spec.values.is_empty() && spec.settings.is_empty());
    }

    #[test]
    fn values_after_settings_and_empty_pieces_are_refused() {
        for bad in ["camera:fps=30:2", "camera::fps=30", "camera:=3"] {
            let err = InputSpec::parse(bad).unwrap_err().to_string();
            assert!(err.contains("key=value") && err.contains(bad), "{err}");
        }
    }
}

//! Pipeline descriptions: the `--stages` list (`resize:width=640,blur:radius=2`) and TOML files.
//!
//! Grammar of the list: stages are separated by `,`; a stage is `name(:key=value)*`. A value may itself
//! hold `:` or `,` when what follows cannot start a new stage or option (`stylize:blend=3:0.5,19:0.5`
//! is one stage with `blend=3:0.5,19:0.5`): a piece that is not `key=value` continues the value before it.

use crate::error::{Error, Result};

/// One stage as described by the user: its registry name and its options, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageSpec {
    pub name: String,
    pub options: Vec<(String, String)>,
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parses a `--stages` list. An empty or blank list is an empty pipeline.
pub fn parse_stages(text: &str) -> Result<Vec<StageSpec>> {
    let mut stages: Vec<StageSpec> = Vec::new();
    for piece in text.split(',') {
        let piece = piece.trim();
        if piece.is_empty() {
            if text.trim().is_empty() {
                continue;
            }
            return Err(Error::Spec(format!(
                "empty stage in '{text}'; expected a comma-separated list such as resize:width=640,blur:radius=2"
            )));
        }
        let mut parts = piece.split(':');
        let head = parts.next().unwrap_or_default().trim();
        if is_name(head) && !head.contains('=') {
            let mut spec = StageSpec {
                name: head.to_ascii_lowercase(),
                options: Vec::new(),
            };
            for part in parts {
                push_option(&mut spec, part, text)?;
            }
            stages.push(spec);
        } else {
            // Not a stage name: the piece continues the last option value (it contained a comma).
            let Some((_, value)) = stages.last_mut().and_then(|s| s.options.last_mut()) else {
                return Err(Error::Spec(format!(
                    "'{piece}' in '{text}' is not a stage name; names start with a letter"
                )));
            };
            value.push(',');
            value.push_str(piece);
        }
    }
    Ok(stages)
}

fn push_option(spec: &mut StageSpec, part: &str, text: &str) -> Result<()> {
    match part.split_once('=') {
        Some((key, value)) if is_name(key.trim()) => {
            spec.options
                .push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
            Ok(())
        }
        _ => match spec.options.last_mut() {
            Some((_, value)) => {
                value.push(':');
                value.push_str(part);
                Ok(())
            }
            None => Err(Error::Spec(format!(
                "'{part}' after stage '{}' in '{text}' is not an option; expected key=value",
                spec.name
            ))),
        },
    }
}

/// Parses a TOML pipeline file:
///
/// ```toml
/// [[stage]]
/// name = "resize"
/// width = 640
///
/// [[stage]]
/// name = "blur"
/// radius = 2
/// ```
pub fn parse_pipeline_toml(text: &str) -> Result<Vec<StageSpec>> {
    let doc: toml::Table =
        toml::from_str(text).map_err(|e| Error::Spec(format!("TOML: {}", e.message())))?;
    for key in doc.keys() {
        if key != "stage" {
            return Err(Error::Spec(format!(
                "unknown table '{key}'; a pipeline file holds [[stage]] entries"
            )));
        }
    }
    let Some(list) = doc.get("stage") else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| Error::Spec("'stage' must be an array of tables: [[stage]]".to_string()))?;
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let table = item
                .as_table()
                .ok_or_else(|| Error::Spec(format!("stage #{} is not a table", i + 1)))?;
            let name = table
                .get("name")
                .and_then(toml::Value::as_str)
                .ok_or_else(|| Error::Spec(format!("stage #{} has no name = \"...\"", i + 1)))?;
            if !is_name(name) {
                return Err(Error::Spec(format!(
                    "stage #{}: name = \"{name}\" is not a stage name; names start with a letter",
                    i + 1
                )));
            }
            let options = table
                .iter()
                .filter(|(k, _)| k.as_str() != "name")
                .map(|(k, v)| {
                    let text = match v {
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.to_ascii_lowercase(), text)
                })
                .collect();
            Ok(StageSpec {
                name: name.to_ascii_lowercase(),
                options,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, options: &[(&str, &str)]) -> StageSpec {
        StageSpec {
            name: name.into(),
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn parses_list_with_options() {
        let got = parse_stages("resize:width=640:height=360, blur:radius=2,passthrough").unwrap();
        assert_eq!(
            got,
            vec![
                spec("resize", &[("width", "640"), ("height", "360")]),
                spec("blur", &[("radius", "2")]),
                spec("passthrough", &[]),
            ]
        );
    }

    #[test]
    fn values_may_hold_colons_and_commas() {
        let got = parse_stages("stylize:blend=3:0.5,19:0.5,resize:width=2").unwrap();
        assert_eq!(
            got,
            vec![
                spec("stylize", &[("blend", "3:0.5,19:0.5")]),
                spec("resize", &[("width", "2")]),
            ]
        );
    }

    #[test]
    fn empty_list_is_empty_pipeline() {
        assert!(parse_stages("").unwrap().is_empty());
        assert!(parse_stages("  ").unwrap().is_empty());
    }

    #[test]
    fn rejects_malformed_lists() {
        assert!(parse_stages("resize,,blur").is_err());
        assert!(parse_stages("9lives").is_err());
        assert!(parse_stages("resize:640").is_err());
    }

    #[test]
    fn parses_toml() {
        let got = parse_pipeline_toml(
            "[[stage]]\nname = \"resize\"\nwidth = 640\n[[stage]]\nname = \"onnx\"\nmodel = \"m.onnx\"\n",
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                spec("resize", &[("width", "640")]),
                spec("onnx", &[("model", "m.onnx")]),
            ]
        );
        assert!(parse_pipeline_toml("[[stage]]\nwidth = 3\n").is_err());
        assert!(parse_pipeline_toml("[other]\n").is_err());
    }
}

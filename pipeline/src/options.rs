//! A stage's options, declared once: each [`OptSpec`] holds the name, type, default, range and help
//! (as GStreamer's ParamSpec does). `doppel stages` renders it, [`StageOptions::new`] checks the
//! given values against it, and the typed getters (`options.u32(&RADIUS)`) read the value, or the
//! default, from the same spec.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::locate::Locator;
use crate::stage::StageDoc;

/// The type of an option, with its default and valid values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptKind {
    /// A whole number in `min..=max`.
    U32 { default: u32, min: u32, max: u32 },
    /// A whole number in `min..=max`, or absent; `absent` says what happens then (e.g. `cores`).
    OptU32 {
        min: u32,
        max: u32,
        absent: &'static str,
    },
    /// A finite number in `min..=max`.
    F32 { default: f32, min: f32, max: f32 },
    /// A finite number in `min..=max`, or absent; `absent` says what happens then.
    OptF32 {
        min: f32,
        max: f32,
        absent: &'static str,
    },
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    Bool(bool),
    /// One of `choices`, case-insensitive.
    Choice {
        choices: &'static [&'static str],
        default: &'static str,
    },
    /// One of `choices`, or absent; `absent` says what happens then.
    OptChoice {
        choices: &'static [&'static str],
        absent: &'static str,
    },
    /// Text the stage parses itself (colours, style blends, provider names); `default` is used when
    /// the option is absent, and none is shown when it is empty.
    Text { default: &'static str },
    /// A file. Given: used as given (relative to the working directory). Absent: `default`, a data
    /// file found by the [`Locator`]; without a default the option is required, or the stage
    /// derives one (its help says how).
    Path { default: Option<&'static str> },
}

impl OptKind {
    /// The default of a [`OptKind::Bool`] (`false` for other kinds), for settings structs whose
    /// `Default` must agree with the options.
    pub const fn default_bool(self) -> bool {
        matches!(self, OptKind::Bool(true))
    }

    /// The default of a [`OptKind::F32`] (`0` for other kinds), as [`OptKind::default_bool`].
    pub const fn default_f32(self) -> f32 {
        match self {
            OptKind::F32 { default, .. } => default,
            _ => 0.0,
        }
    }
}

/// One option of a stage: declared once as a `const`, used for docs, validation and the value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptSpec {
    pub name: &'static str,
    pub kind: OptKind,
    pub help: &'static str,
}

/// `backend`: a stage with a WGSL kernel and its CPU reference.
pub const GPU_OR_CPU: OptSpec = OptSpec {
    name: "backend",
    kind: OptKind::Choice {
        choices: &["gpu", "cpu"],
        default: "gpu",
    },
    help: "gpu (wgpu compute) or cpu (reference)",
};

/// `threads`: ONNX Runtime intra-op threads of a stage's model(s), one spec for every model stage.
pub const MODEL_THREADS: OptSpec = OptSpec {
    name: "threads",
    kind: OptKind::OptU32 {
        min: 1,
        max: 256,
        absent: "cores",
    },
    help: "intra-op threads",
};

/// `threads` of the tracking stages (`track`, `hands`), whose models are small: one intra-op thread
/// each. Measured on two quiet cores: `doppel process` of `hands` on a 1280x720 talking-head clip
/// took 5.1-5.3 s with one thread against 5.4-6.8 s with two (decoding and resizing share the
/// cores), and in a live `track,hands,avatar` run two threads cost 10-20 dropped frames a 15 s run
/// against 0-1 (the stages run side by side there). Alone, in criterion, two threads are faster
/// (8.0 against 12.7 ms a frame); MediaPipe Hands took 14.0 ms in the same run.
pub const SMALL_MODEL_THREADS: OptSpec = OptSpec {
    name: "threads",
    kind: OptKind::U32 {
        default: 1,
        min: 1,
        max: 256,
    },
    help: "intra-op threads per model (1 is fastest for these small models)",
};

/// `provider`: where a stage's model(s) run, one spec for every model stage (see
/// [`crate::infer::ExecutionProvider::parse`]); empty = the run's `--provider`, else the CPU.
pub const MODEL_PROVIDER: OptSpec = OptSpec {
    name: "provider",
    kind: OptKind::Text { default: "" },
    help: "cpu | cuda | tensorrt | openvino | xnnpack | rocm | migraphx | directml | coreml | ONNX Runtime \
           name, options after ';' (cuda;device_id=1;strict=true); default: --provider, else cpu; never \
           falls back silently",
};

impl OptSpec {
    /// The default as `doppel stages` shows it; `None` when there is none to show.
    pub fn default_text(&self) -> Option<String> {
        let text = match self.kind {
            OptKind::U32 { default, .. } => default.to_string(),
            OptKind::F32 { default, .. } => default.to_string(),
            OptKind::Bool(default) => default.to_string(),
            OptKind::Choice { default, .. } => default.to_string(),
            OptKind::Text { default }
            | OptKind::Path {
                default: Some(default),
            } => default.to_string(),
            OptKind::OptU32 { absent, .. }
            | OptKind::OptF32 { absent, .. }
            | OptKind::OptChoice { absent, .. } => absent.to_string(),
            OptKind::Path { default: None } => String::new(),
        };
        (!text.is_empty()).then_some(text)
    }

    /// The valid values as `doppel stages` shows them (`0..=32`, `gpu | cpu`); `None` for free text.
    pub fn range_text(&self) -> Option<String> {
        match self.kind {
            OptKind::U32 { min, max, .. } | OptKind::OptU32 { min, max, .. } => {
                Some(format!("{min}..={max}"))
            }
            OptKind::F32 { min, max, .. } | OptKind::OptF32 { min, max, .. } => {
                Some(format!("{min}..={max}"))
            }
            OptKind::Bool(_) => Some("true | false".to_string()),
            OptKind::Choice { choices, .. } | OptKind::OptChoice { choices, .. } => {
                Some(choices.join(" | "))
            }
            OptKind::Text { .. } | OptKind::Path { .. } => None,
        }
    }
}

impl fmt::Display for OptSpec {
    /// One line of `doppel stages`: `name  help [range; default: value]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<14} {}", self.name, self.help)?;
        let facts: Vec<String> = [
            self.range_text(),
            self.default_text().map(|d| format!("default: {d}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !facts.is_empty() {
            write!(f, " [{}]", facts.join("; "))?;
        }
        Ok(())
    }
}

/// The options given to one stage, checked against its [`StageDoc`].
#[derive(Clone, Debug, Default)]
pub struct StageOptions {
    stage: String,
    values: BTreeMap<String, String>,
}

impl StageOptions {
    /// Collects `pairs` for the stage `doc`, refusing names the stage does not have, repeats and
    /// values that do not fit their spec (type and range), so that every such mistake is found before
    /// anything is built.
    pub fn new(doc: &StageDoc, pairs: &[(String, String)]) -> Result<Self> {
        let mut options = Self {
            stage: doc.name.to_string(),
            values: BTreeMap::new(),
        };
        for (key, value) in pairs {
            let Some(spec) = doc.options.iter().find(|o| o.name == key) else {
                let valid: Vec<&str> = doc.options.iter().map(|o| o.name).collect();
                return Err(options.error(
                    key,
                    if valid.is_empty() {
                        "this stage takes no options".to_string()
                    } else {
                        format!("unknown option; valid options: {}", valid.join(", "))
                    },
                ));
            };
            if options.values.insert(key.clone(), value.clone()).is_some() {
                return Err(options.error(key, "given more than once"));
            }
            options.check(spec)?;
        }
        Ok(options)
    }

    /// Options built directly, for code that configures stages without a description (they are
    /// checked when read).
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

    /// Whether option `spec` was given (with a non-blank value).
    pub fn given(&self, spec: &OptSpec) -> bool {
        self.raw(spec.name).is_some_and(|v| !v.trim().is_empty())
    }

    /// An error about option `name`.
    pub fn error(&self, name: &str, message: impl Into<String>) -> Error {
        Error::Option {
            stage: self.stage.clone(),
            option: name.to_string(),
            message: message.into(),
        }
    }

    /// Reads `spec` once to check its value (the getters do the checking).
    fn check(&self, spec: &OptSpec) -> Result<()> {
        match spec.kind {
            OptKind::U32 { .. } | OptKind::OptU32 { .. } => self.opt_u32(spec).map(drop),
            OptKind::F32 { .. } | OptKind::OptF32 { .. } => self.opt_f32(spec).map(drop),
            OptKind::Bool(_) => self.bool(spec).map(drop),
            OptKind::Choice { .. } | OptKind::OptChoice { .. } => self.opt_choice(spec).map(drop),
            OptKind::Text { .. } | OptKind::Path { .. } => Ok(()),
        }
    }

    /// A getter used on an option of another kind: a bug in the stage, reported, not panicked.
    fn wrong_kind(&self, spec: &OptSpec, wanted: &str) -> Error {
        Error::Internal(format!(
            "stage '{}' reads option '{}' as {wanted}, but it is declared as {:?}",
            self.stage, spec.name, spec.kind
        ))
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

    /// A [`OptKind::U32`] option: the value given, or the default.
    pub fn u32(&self, spec: &OptSpec) -> Result<u32> {
        match spec.kind {
            OptKind::U32 { default, .. } => Ok(self.opt_u32(spec)?.unwrap_or(default)),
            _ => Err(self.wrong_kind(spec, "u32")),
        }
    }

    /// A [`OptKind::OptU32`] (or `U32`) option as given, `None` when absent.
    pub fn opt_u32(&self, spec: &OptSpec) -> Result<Option<u32>> {
        let (min, max) = match spec.kind {
            OptKind::U32 { min, max, .. } | OptKind::OptU32 { min, max, .. } => (min, max),
            _ => return Err(self.wrong_kind(spec, "u32")),
        };
        let expected = format!("a whole number from {min} to {max}");
        match self.parse::<u32>(spec.name, &expected)? {
            Some(v) if !(min..=max).contains(&v) => Err(self.error(
                spec.name,
                format!("{v} is out of range; expected {expected}"),
            )),
            other => Ok(other),
        }
    }

    /// A [`OptKind::F32`] option: the value given, or the default.
    pub fn f32(&self, spec: &OptSpec) -> Result<f32> {
        match spec.kind {
            OptKind::F32 { default, .. } => Ok(self.opt_f32(spec)?.unwrap_or(default)),
            _ => Err(self.wrong_kind(spec, "f32")),
        }
    }

    /// A [`OptKind::OptF32`] (or `F32`) option as given, `None` when absent.
    pub fn opt_f32(&self, spec: &OptSpec) -> Result<Option<f32>> {
        let (min, max) = match spec.kind {
            OptKind::F32 { min, max, .. } | OptKind::OptF32 { min, max, .. } => (min, max),
            _ => return Err(self.wrong_kind(spec, "f32")),
        };
        let expected = format!("a number from {min} to {max}");
        match self.parse::<f32>(spec.name, &expected)? {
            Some(v) if !v.is_finite() || !(min..=max).contains(&v) => Err(self.error(
                spec.name,
                format!("{v} is out of range; expected {expected}"),
            )),
            other => Ok(other),
        }
    }

    /// A [`OptKind::Bool`] option.
    pub fn bool(&self, spec: &OptSpec) -> Result<bool> {
        let OptKind::Bool(default) = spec.kind else {
            return Err(self.wrong_kind(spec, "bool"));
        };
        match self.raw(spec.name).map(|s| s.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(s) => match s.as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(self.error(
                    spec.name,
                    format!("'{s}' is not valid; expected true or false"),
                )),
            },
        }
    }

    /// A [`OptKind::Choice`] option: the choice given (as declared), or the default.
    pub fn choice(&self, spec: &OptSpec) -> Result<&'static str> {
        match spec.kind {
            OptKind::Choice { default, .. } => Ok(self.opt_choice(spec)?.unwrap_or(default)),
            _ => Err(self.wrong_kind(spec, "a choice")),
        }
    }

    /// A [`OptKind::OptChoice`] (or `Choice`) option as given, `None` when absent or blank.
    pub fn opt_choice(&self, spec: &OptSpec) -> Result<Option<&'static str>> {
        let choices = match spec.kind {
            OptKind::Choice { choices, .. } | OptKind::OptChoice { choices, .. } => choices,
            _ => return Err(self.wrong_kind(spec, "a choice")),
        };
        match self.raw(spec.name).map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(text) => choices
                .iter()
                .find(|c| c.eq_ignore_ascii_case(text))
                .copied()
                .map(Some)
                .ok_or_else(|| {
                    self.error(
                        spec.name,
                        format!(
                            "'{text}' is not valid; expected one of {}",
                            choices.join(", ")
                        ),
                    )
                }),
        }
    }

    /// A [`OptKind::Text`] option, trimmed: the text given, or the default.
    pub fn text(&self, spec: &OptSpec) -> Result<&str> {
        let OptKind::Text { default } = spec.kind else {
            return Err(self.wrong_kind(spec, "text"));
        };
        Ok(self
            .raw(spec.name)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(default))
    }

    /// A [`OptKind::Path`] option as given (relative to the working directory), `None` when absent.
    pub fn opt_path(&self, spec: &OptSpec) -> Result<Option<PathBuf>> {
        let OptKind::Path { .. } = spec.kind else {
            return Err(self.wrong_kind(spec, "a path"));
        };
        Ok(self
            .raw(spec.name)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(PathBuf::from))
    }

    /// A [`OptKind::Path`] option: as given, else its default data file found by `locator`.
    ///
    /// # Errors
    /// [`Error::Option`] when it has no default and is absent (required); [`Error::Model`] naming
    /// every place looked when the default file is not found.
    pub fn path(&self, spec: &OptSpec, locator: &Locator) -> Result<PathBuf> {
        match (self.opt_path(spec)?, spec.kind) {
            (Some(path), _) => Ok(path),
            (
                None,
                OptKind::Path {
                    default: Some(default),
                },
            ) => locator.find(default),
            (None, _) => Err(self.error(spec.name, "required; give a file path")),
        }
    }

    /// A [`OptKind::Path`] option whose default the stage derives (from another option): as given,
    /// else `default` found by `locator`.
    pub fn path_or(&self, spec: &OptSpec, default: &str, locator: &Locator) -> Result<PathBuf> {
        match self.opt_path(spec)? {
            Some(path) => Ok(path),
            None => locator.find(default),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::Contract;

    const RADIUS: OptSpec = OptSpec {
        name: "radius",
        kind: OptKind::U32 {
            default: 2,
            min: 0,
            max: 32,
        },
        help: "taps on each side",
    };
    const SIGMA: OptSpec = OptSpec {
        name: "sigma",
        kind: OptKind::OptF32 {
            min: 0.1,
            max: 100.0,
            absent: "radius/2",
        },
        help: "standard deviation",
    };
    const BACKEND: OptSpec = OptSpec {
        name: "backend",
        kind: OptKind::Choice {
            choices: &["gpu", "cpu"],
            default: "gpu",
        },
        help: "where it runs",
    };
    const DOC: StageDoc = StageDoc {
        name: "demo",
        summary: "",
        options: &[RADIUS, SIGMA, BACKEND],
        example: "demo",
        contract: |_| Ok(Contract::NONE),
    };

    fn options(pairs: &[(&str, &str)]) -> Result<StageOptions> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        StageOptions::new(&DOC, &pairs)
    }

    #[test]
    fn defaults_come_from_the_spec() {
        let o = options(&[]).unwrap();
        assert_eq!(o.u32(&RADIUS).unwrap(), 2);
        assert_eq!(o.opt_f32(&SIGMA).unwrap(), None);
        assert_eq!(o.choice(&BACKEND).unwrap(), "gpu");
        let o = options(&[("radius", "7"), ("backend", "CPU"), ("sigma", "1.5")]).unwrap();
        assert_eq!(o.u32(&RADIUS).unwrap(), 7);
        assert_eq!(o.opt_f32(&SIGMA).unwrap(), Some(1.5));
        assert_eq!(o.choice(&BACKEND).unwrap(), "cpu");
    }

    #[test]
    fn values_are_checked_against_the_spec_when_collected() {
        let err = options(&[("radius", "33")]).unwrap_err().to_string();
        assert_eq!(
            err,
            "stage 'demo', option 'radius': 33 is out of range; expected a whole number from 0 to 32"
        );
        let err = options(&[("sigma", "0")]).unwrap_err().to_string();
        assert!(
            err.contains("'sigma'") && err.contains("0.1 to 100"),
            "{err}"
        );
        let err = options(&[("sigma", "inf")]).unwrap_err().to_string();
        assert!(err.contains("out of range"), "{err}");
        let err = options(&[("backend", "tpu")]).unwrap_err().to_string();
        assert!(err.contains("expected one of gpu, cpu"), "{err}");
        let err = options(&[("radius", "two")]).unwrap_err().to_string();
        assert!(err.contains("'two' is not valid"), "{err}");
        let err = options(&[("size", "1")]).unwrap_err().to_string();
        assert!(
            err.contains("valid options: radius, sigma, backend"),
            "{err}"
        );
        let err = options(&[("radius", "1"), ("radius", "2")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than once"), "{err}");
    }

    #[test]
    fn reading_an_option_as_another_kind_is_an_internal_error() {
        let o = options(&[]).unwrap();
        assert!(matches!(o.bool(&RADIUS), Err(Error::Internal(_))));
        assert!(matches!(o.u32(&SIGMA), Err(Error::Internal(_))));
    }

    #[test]
    fn docs_render_range_and_default_from_the_spec() {
        assert_eq!(
            RADIUS.to_string(),
            "radius         taps on each side [0..=32; default: 2]"
        );
        assert_eq!(
            SIGMA.to_string(),
            "sigma          standard deviation [0.1..=100; default: radius/2]"
        );
        assert_eq!(
            BACKEND.to_string(),
            "backend        where it runs [gpu | cpu; default: gpu]"
        );
        let model = OptSpec {
            name: "model",
            kind: OptKind::Path { default: None },
            help: "required",
        };
        assert_eq!(model.to_string(), "model          required");
    }
}

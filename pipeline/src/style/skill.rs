//! Skills: named, saved styles. A skill is one small TOML file, `NAME.toml`:
//!
//! ```toml
//! name = "toon"
//! kind = "vector"            # weights (26, multistyle26) | vector (100, arbitrary style) | adapter
//! note = "where it came from"
//! values = [0.1, -0.3, ...]  # weights or vector
//! colors = "keep"            # optional: keep | style, whose colours the stylize stage shows
//! # kind = "adapter": an ONNX Runtime adapter over a base model with adapter inputs
//! # adapter = "warm.onnx_adapter"   (relative to this file)
//! # model = "/path/to/base.onnx"    (relative to this file when not absolute)
//! ```
//!
//! Skills are looked up in the user's folder (`$XDG_DATA_HOME/doppel/skills`, else
//! `~/.local/share/doppel/skills`) and then in the skills shipped with doppel (`assets/skills/`);
//! a user skill hides a shipped one of the same name.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::colors::Colors;
use super::weights::StyleWeights;
use super::{Style, VECTOR_LEN};
use crate::error::{Error, Result};
use crate::infer::Adapter;
use crate::output::{Existing, OutputGuard};

/// The shipped skills, relative to the working directory.
pub const SHIPPED_DIR: &str = "assets/skills";

/// What a skill holds.
#[derive(Clone, Debug, PartialEq)]
pub enum SkillKind {
    /// A blend of the 26 built-in styles.
    Weights(StyleWeights),
    /// An arbitrary-style vector (100 values) from a style picture.
    Vector(Vec<f32>),
    /// Adapter weights for a base model (absolute paths, resolved when the skill was read).
    Adapter { adapter: PathBuf, model: PathBuf },
}

impl SkillKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Weights(_) => "weights",
            Self::Vector(_) => "vector",
            Self::Adapter { .. } => "adapter",
        }
    }
}

/// A named saved style.
#[derive(Clone, Debug, PartialEq)]
pub struct Skill {
    pub name: String,
    pub note: String,
    pub kind: SkillKind,
    /// Whose colours the stylize stage shows with this skill unless its `colors=` option says;
    /// `None` = the style's.
    pub colors: Option<Colors>,
    /// The file it was read from, if any.
    pub path: Option<PathBuf>,
}

/// The file format.
#[derive(Serialize, Deserialize)]
struct SkillFile {
    name: String,
    kind: String,
    #[serde(default)]
    note: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    values: Vec<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    adapter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    colors: Option<String>,
}

/// Whether `name` can be a skill name: letters, digits, `-` and `_`, starting with a letter or digit.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_name(name: &str) -> Result<()> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(Error::Spec(format!(
            "'{name}' is not a valid skill name; use letters, digits, '-' and '_' (at most 64)"
        )))
    }
}

impl Skill {
    /// A skill from a blend of built-in styles.
    ///
    /// # Errors
    /// [`Error::Spec`] for an invalid name.
    pub fn weights(name: &str, weights: StyleWeights, note: &str) -> Result<Self> {
        check_name(name)?;
        Ok(Self {
            name: name.to_string(),
            note: note.to_string(),
            kind: SkillKind::Weights(weights),
            colors: None,
            path: None,
        })
    }

    /// A skill from an arbitrary-style vector.
    ///
    /// # Errors
    /// [`Error::Spec`] for an invalid name or a vector that is not 100 finite values.
    pub fn vector(name: &str, vector: Vec<f32>, note: &str) -> Result<Self> {
        check_name(name)?;
        check_vector(&vector, name)?;
        Ok(Self {
            name: name.to_string(),
            note: note.to_string(),
            kind: SkillKind::Vector(vector),
            colors: None,
            path: None,
        })
    }

    /// Reads a skill file.
    ///
    /// # Errors
    /// [`Error::Input`] naming the file: unreadable, not TOML, unknown kind, wrong value count.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::input(path, format!("cannot read skill file: {e}")))?;
        let file: SkillFile = toml::from_str(&text)
            .map_err(|e| Error::input(path, format!("not a skill file: {}", e.message())))?;
        let bad = |m: String| Error::input(path, m);
        let dir = path.parent().unwrap_or(Path::new("."));
        let kind = match file.kind.as_str() {
            "weights" => SkillKind::Weights(
                StyleWeights::from_values(&file.values).map_err(|e| bad(e.to_string()))?,
            ),
            "vector" => {
                check_vector(&file.values, &file.name).map_err(|e| bad(e.to_string()))?;
                SkillKind::Vector(file.values)
            }
            "adapter" => {
                let (Some(adapter), Some(model)) = (file.adapter, file.model) else {
                    return Err(bad(
                        "an adapter skill needs adapter = \"FILE.onnx_adapter\" and model = \"BASE.onnx\""
                            .to_string(),
                    ));
                };
                SkillKind::Adapter {
                    adapter: dir.join(adapter),
                    model: dir.join(model),
                }
            }
            other => {
                return Err(bad(format!(
                    "kind '{other}' is not valid; expected weights, vector or adapter"
                )))
            }
        };
        check_name(&file.name).map_err(|e| bad(e.to_string()))?;
        let colors = match file.colors.as_deref() {
            None => None,
            Some(name) => Some(Colors::from_name(name).ok_or_else(|| {
                bad(format!(
                    "colors = \"{name}\" is not valid; expected {}",
                    Colors::NAMES.join(" or ")
                ))
            })?),
        };
        Ok(Self {
            name: file.name,
            note: file.note,
            kind,
            colors,
            path: Some(path.to_path_buf()),
        })
    }

    /// Writes the skill as `DIR/NAME.toml` (creating DIR) and returns the path. An adapter skill's
    /// adapter file is copied next to it, so the skill stays usable when the original moves.
    ///
    /// # Errors
    /// [`Error::Output`] naming the file when it exists (unless `overwrite`) or cannot be written.
    pub fn save(&self, dir: &Path, overwrite: bool) -> Result<PathBuf> {
        let existing = if overwrite {
            Existing::Replace
        } else {
            Existing::Refuse
        };
        self.save_guarded(dir, &OutputGuard::new(existing))
    }

    /// As [`Skill::save`], with the files claimed from `guard` (which decides about existing
    /// files and refuses inputs) and each written under a temporary name first.
    ///
    /// # Errors
    /// As [`Skill::save`]; also what `guard` refuses.
    pub fn save_guarded(&self, dir: &Path, guard: &OutputGuard) -> Result<PathBuf> {
        let path = dir.join(format!("{}.toml", self.name));
        guard.claim(&path).map_err(|e| match e {
            Error::Output { path, message } => Error::Output {
                path,
                message: format!("skill '{}': {message}", self.name),
            },
            e => e,
        })?;
        let (kind, values, adapter, model) = match &self.kind {
            SkillKind::Weights(w) => ("weights", w.values().to_vec(), None, None),
            SkillKind::Vector(v) => ("vector", v.clone(), None, None),
            SkillKind::Adapter { adapter, model } => {
                let file_name = format!("{}.onnx_adapter", self.name);
                let copy = dir.join(&file_name);
                if adapter != &copy {
                    guard.add_input_path(adapter);
                    guard.claim(&copy)?;
                    guard.write_claimed_with(&copy, |temp| {
                        std::fs::copy(adapter, temp).map(drop).map_err(|e| {
                            Error::output(
                                &copy,
                                format!("cannot copy adapter {}: {e}", adapter.display()),
                            )
                        })
                    })?;
                }
                let model = std::path::absolute(model).unwrap_or_else(|_| model.clone());
                (
                    "adapter",
                    Vec::new(),
                    Some(file_name),
                    Some(model.display().to_string()),
                )
            }
        };
        let file = SkillFile {
            name: self.name.clone(),
            kind: kind.to_string(),
            note: self.note.clone(),
            values,
            adapter,
            model,
            colors: self.colors.map(|c| c.name().to_string()),
        };
        let text = toml::to_string(&file)
            .map_err(|e| Error::output(&path, format!("cannot encode the skill: {e}")))?;
        guard.write_claimed(
            &path,
            format!("# doppel skill (see doppel skills --help)\n{text}").as_bytes(),
        )?;
        Ok(path)
    }

    /// The style to run: loads an adapter file when the skill has one.
    ///
    /// # Errors
    /// [`Error::Model`] for a missing or invalid adapter file.
    pub fn style(&self) -> Result<Style> {
        Ok(match &self.kind {
            SkillKind::Weights(w) => Style::Weights(w.clone()),
            SkillKind::Vector(v) => Style::Vector(v.clone()),
            SkillKind::Adapter { adapter, model } => Style::Adapter {
                model: model.clone(),
                adapter: Adapter::from_file(adapter)?,
            },
        })
    }

    /// A one-line summary for listings.
    pub fn summary(&self) -> String {
        let what = match &self.kind {
            SkillKind::Weights(w) => format!("styles {}", w.describe()),
            SkillKind::Vector(_) => format!("style vector ({VECTOR_LEN} values)"),
            SkillKind::Adapter { adapter, model } => {
                format!("adapter {} over {}", adapter.display(), model.display())
            }
        };
        match self.colors {
            Some(c) => format!("{what}, colors={}", c.name()),
            None => what,
        }
    }
}

fn check_vector(values: &[f32], name: &str) -> Result<()> {
    if values.len() != VECTOR_LEN || values.iter().any(|v| !v.is_finite()) {
        return Err(Error::Spec(format!(
            "skill '{name}': a style vector needs {VECTOR_LEN} finite values, {} given",
            values.len()
        )));
    }
    Ok(())
}

/// The user's skills folder: `$XDG_DATA_HOME/doppel/skills`, else `~/.local/share/doppel/skills`.
pub fn user_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("doppel").join("skills")
}

/// Where skills are looked up, first match wins.
#[derive(Clone, Debug)]
pub struct SkillLibrary {
    dirs: Vec<PathBuf>,
}

impl Default for SkillLibrary {
    /// The user's folder, then the shipped skills (found through the data locator, so an
    /// installed binary or one run from another folder finds them).
    fn default() -> Self {
        let shipped = crate::locate::Locator::from_env().find_dir_or_keep(SHIPPED_DIR);
        Self::new(vec![user_dir(), shipped])
    }
}

impl SkillLibrary {
    pub fn new(dirs: Vec<PathBuf>) -> Self {
        Self { dirs }
    }

    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Every skill, sorted by name; a name found in several folders is taken from the first. Folders
    /// that do not exist hold no skills. A file that is not a valid skill is skipped and reported in
    /// [`SkillListing::skipped`] (the library does not print: the caller shows the warnings), so one
    /// broken file in the user's folder does not hide the others or the shipped skills.
    ///
    /// # Errors
    /// None today; `Result` so that a folder that cannot be listed can become one.
    pub fn list(&self) -> Result<SkillListing> {
        let mut listing = SkillListing {
            skills: Vec::new(),
            skipped: Vec::new(),
            dirs: self.dirs.clone(),
        };
        for dir in &self.dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            for file in files {
                match Skill::load(&file) {
                    Ok(skill) => {
                        if !listing.skills.iter().any(|s| s.name == skill.name) {
                            listing.skills.push(skill);
                        }
                    }
                    Err(error) => listing.skipped.push(SkippedSkill { path: file, error }),
                }
            }
        }
        listing.skills.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(listing)
    }

    /// The skill called `name`; broken files other than `NAME.toml` are skipped.
    ///
    /// # Errors
    /// As [`SkillListing::find`].
    pub fn find(&self, name: &str) -> Result<Skill> {
        self.list()?.find(name)
    }
}

/// A skill file that [`SkillLibrary::list`] skipped, and why.
#[derive(Debug)]
pub struct SkippedSkill {
    pub path: PathBuf,
    /// What is wrong with it (names the file).
    pub error: Error,
}

/// The skills found in a library's folders, and the files skipped.
#[derive(Debug)]
pub struct SkillListing {
    /// Valid skills, sorted by name.
    pub skills: Vec<Skill>,
    /// Files that are not valid skills, in the order found.
    pub skipped: Vec<SkippedSkill>,
    dirs: Vec<PathBuf>,
}

impl SkillListing {
    /// The skill called `name`.
    ///
    /// # Errors
    /// - [`Error::Input`] naming the file when there is no valid skill `name` but a file `NAME.toml`
    ///   was skipped: its own error, so asking for a broken skill says what is wrong with it;
    /// - [`Error::Spec`] listing the valid names (and the folders searched) when there is none.
    pub fn find(&self, name: &str) -> Result<Skill> {
        if let Some(skill) = self.skills.iter().find(|s| s.name == name) {
            return Ok(skill.clone());
        }
        if let Some(broken) = self
            .skipped
            .iter()
            .find(|s| s.path.file_stem().is_some_and(|stem| stem == name))
        {
            let why = match &broken.error {
                Error::Input { message, .. } => message.clone(),
                other => other.to_string(),
            };
            return Err(Error::input(
                &broken.path,
                format!("skill '{name}' cannot be used: {why}"),
            ));
        }
        let names: Vec<&str> = self.skills.iter().map(|s| s.name.as_str()).collect();
        let dirs: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        Err(Error::Spec(format!(
            "unknown skill '{name}'; valid skills: {} (searched {}; add one with `doppel skills add`)",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            },
            dirs.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skills_round_trip_and_unknown_names_list_valid_ones() {
        let dir = std::env::temp_dir().join(format!("doppel-skill-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let blend = StyleWeights::parse("3:1,19:1").unwrap();
        let a = Skill::weights("duo", blend.clone(), "two styles").unwrap();
        let b = Skill::vector("vec", vec![0.25; VECTOR_LEN], "").unwrap();
        a.save(&dir, false).unwrap();
        b.save(&dir, false).unwrap();
        assert!(a.save(&dir, false).is_err(), "no silent overwrite");
        let lib = SkillLibrary::new(vec![dir.clone()]);
        let list = lib.list().unwrap();
        assert_eq!(list.skills.len(), 2);
        assert!(list.skipped.is_empty());
        assert_eq!(lib.find("duo").unwrap().kind, SkillKind::Weights(blend));
        assert_eq!(
            lib.find("vec").unwrap().kind,
            SkillKind::Vector(vec![0.25; VECTOR_LEN])
        );
        let e = lib.find("nope").unwrap_err().to_string();
        assert!(
            e.contains("unknown skill 'nope'") && e.contains("duo, vec"),
            "{e}"
        );
        assert!(Skill::vector("bad name", vec![0.0; VECTOR_LEN], "").is_err());
        assert!(Skill::vector("short", vec![0.0; 5], "").is_err());
        std::fs::write(dir.join("broken.toml"), "kind = 3").unwrap();
        let list = lib.list().unwrap();
        assert_eq!(list.skills.len(), 2, "the good skills stay");
        assert_eq!(list.skipped.len(), 1);
        let e = list.skipped[0].error.to_string();
        assert!(e.contains("broken.toml"), "{e}");
        assert!(lib.find("duo").is_ok());
        let e = lib.find("broken").unwrap_err().to_string();
        assert!(
            e.contains("broken.toml") && e.contains("cannot be used"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

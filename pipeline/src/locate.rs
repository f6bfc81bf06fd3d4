//! Where doppel's data (the `models/` and `assets/` folders) is found, so that default model paths
//! work from any working directory. Files the user names stay as given; defaults go through here.
//!
//! Places, first match wins:
//! 1. `$DOPPEL_DATA_DIR`;
//! 2. `../share/doppel` next to the installed binary (`/usr/local/bin/doppel` →
//!    `/usr/local/share/doppel`);
//! 3. `$XDG_DATA_HOME/doppel` (`~/.local/share/doppel` when unset);
//! 4. the source tree: the nearest folder above the executable that holds `models/`, then the
//!    workspace this library was built from (`CARGO_MANIFEST_DIR/..`);
//! 5. the current directory.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable that names the data folder (first place looked).
pub const DATA_DIR_VAR: &str = "DOPPEL_DATA_DIR";

/// An ordered list of data folders, each with why it is on the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locator {
    places: Vec<(PathBuf, &'static str)>,
}

impl Locator {
    /// The places of the module docs, from this process's environment.
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let exe = std::env::current_exe().ok();
        let mut places = Vec::new();
        if let Some(dir) = var(DATA_DIR_VAR) {
            places.push((dir, "$DOPPEL_DATA_DIR"));
        }
        if let Some(bin) = exe.as_deref().and_then(Path::parent) {
            if let Some(prefix) = bin.parent() {
                places.push((prefix.join("share/doppel"), "next to the binary"));
            }
        }
        match (var("XDG_DATA_HOME"), var("HOME")) {
            (Some(data), _) => places.push((data.join("doppel"), "$XDG_DATA_HOME/doppel")),
            (None, Some(home)) => places.push((home.join(".local/share/doppel"), "~/.local/share")),
            (None, None) => {}
        }
        if let Some(tree) = exe
            .as_deref()
            .and_then(|e| e.ancestors().skip(1).find(|d| d.join("models").is_dir()))
        {
            places.push((tree.to_path_buf(), "source tree of the binary"));
        }
        let built = Path::new(env!("CARGO_MANIFEST_DIR"));
        if let Some(workspace) = built.parent() {
            places.push((workspace.to_path_buf(), "source tree it was built from"));
        }
        places.push((PathBuf::from("."), "current directory"));
        Self::new(places)
    }

    /// A locator over exactly these places, in order (duplicates dropped).
    pub fn new(places: Vec<(PathBuf, &'static str)>) -> Self {
        let mut unique: Vec<(PathBuf, &'static str)> = Vec::new();
        for (dir, why) in places {
            if !unique.iter().any(|(d, _)| *d == dir) {
                unique.push((dir, why));
            }
        }
        Self { places: unique }
    }

    /// The places looked, in order, with why each is there.
    pub fn places(&self) -> &[(PathBuf, &'static str)] {
        &self.places
    }

    /// The data folder in use: the first place that holds a `models/` folder.
    pub fn data_dir(&self) -> Option<&Path> {
        self.places
            .iter()
            .map(|(d, _)| d.as_path())
            .find(|d| d.join("models").is_dir())
    }

    /// The file `relative` (e.g. `models/face_landmark.onnx`) in the first place that has it.
    /// An absolute path is returned as it is.
    ///
    /// # Errors
    /// [`Error::Model`] naming the file and every place looked.
    pub fn find(&self, relative: impl AsRef<Path>) -> Result<PathBuf> {
        let relative = relative.as_ref();
        if relative.is_absolute() {
            return Ok(relative.to_path_buf());
        }
        if let Some(found) = self
            .places
            .iter()
            .map(|(dir, _)| dir.join(relative))
            .find(|p| p.is_file())
        {
            return Ok(found);
        }
        let looked: Vec<String> = self
            .places
            .iter()
            .map(|(dir, why)| format!("{} ({why})", dir.join(relative).display()))
            .collect();
        Err(Error::model(
            relative,
            format!(
                "not found; looked in: {}. Set {DATA_DIR_VAR} to the folder that holds models/ \
                 (scripts/fetch-models.sh fetches them), or give the file as an option",
                looked.join(", ")
            ),
        ))
    }
}

impl Locator {
    /// The file `relative` where [`Locator::find`] finds it, else `relative` unchanged (for
    /// configurations whose models load later, or not at all: loading names the missing file).
    pub fn find_or_keep(&self, relative: &str) -> PathBuf {
        self.find(relative)
            .unwrap_or_else(|_| PathBuf::from(relative))
    }

    /// The folder `relative` (e.g. `assets/skills`) in the first place that has it, else
    /// `relative` unchanged.
    pub fn find_dir_or_keep(&self, relative: &str) -> PathBuf {
        self.places
            .iter()
            .map(|(dir, _)| dir.join(relative))
            .find(|p| p.is_dir())
            .unwrap_or_else(|| PathBuf::from(relative))
    }
}

impl Default for Locator {
    fn default() -> Self {
        Self::from_env()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("doppel-locate-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("models")).unwrap();
        dir
    }

    #[test]
    fn first_place_with_the_file_wins() {
        let (a, b) = (temp("a"), temp("b"));
        std::fs::write(b.join("models/m.onnx"), b"x").unwrap();
        let locator = Locator::new(vec![(a.clone(), "first"), (b.clone(), "second")]);
        assert_eq!(
            locator.find("models/m.onnx").unwrap(),
            b.join("models/m.onnx")
        );
        std::fs::write(a.join("models/m.onnx"), b"x").unwrap();
        assert_eq!(
            locator.find("models/m.onnx").unwrap(),
            a.join("models/m.onnx")
        );
        assert_eq!(locator.data_dir(), Some(a.as_path()));
    }

    #[test]
    fn folders_are_found_in_the_first_place_that_has_them() {
        let (a, b) = (temp("e"), temp("f"));
        std::fs::create_dir_all(b.join("assets/skills")).unwrap();
        let locator = Locator::new(vec![(a.clone(), "first"), (b.clone(), "second")]);
        assert_eq!(
            locator.find_dir_or_keep("assets/skills"),
            b.join("assets/skills")
        );
        assert_eq!(
            locator.find_dir_or_keep("assets/none"),
            PathBuf::from("assets/none")
        );
    }

    #[test]
    fn a_missing_file_names_every_place_looked() {
        let (a, b) = (temp("c"), temp("d"));
        let locator = Locator::new(vec![(a.clone(), "first"), (b.clone(), "second")]);
        let err = locator.find("models/none.onnx").unwrap_err().to_string();
        for dir in [&a, &b] {
            let path = dir.join("models/none.onnx");
            assert!(err.contains(&path.display().to_string()), "{err}");
        }
        assert!(
            err.contains("(first)") && err.contains(DATA_DIR_VAR),
            "{err}"
        );
    }

    #[test]
    fn env_order_puts_the_variable_first_and_the_current_dir_last() {
        // Only this test touches the variable in this test binary.
        let dir = temp("env");
        std::env::set_var(DATA_DIR_VAR, &dir);
        let locator = Locator::from_env();
        std::env::remove_var(DATA_DIR_VAR);
        let places = locator.places();
        assert_eq!(places[0], (dir.clone(), "$DOPPEL_DATA_DIR"));
        assert_eq!(places.last().map(|p| p.0.as_path()), Some(Path::new(".")));
        assert_eq!(locator.data_dir(), Some(dir.as_path()));
        let whys: Vec<&str> = places.iter().map(|p| p.1).collect();
        assert_eq!(whys[1], "next to the binary", "{whys:?}");
        // The source tree (found from the test binary, or the one it was built from) is on the list.
        let tree = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        assert!(places.iter().any(|p| p.0 == tree), "{places:?}");
    }
}

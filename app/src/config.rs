//! The user's settings file: `$DOPPEL_CONFIG`, else `$XDG_CONFIG_HOME/doppel/config.toml`
//! (`~/.config/doppel/config.toml`). Its `[live]` table gives `doppel live` its defaults (camera,
//! stages, avatar, virtual camera, VMC target); an option on the command line wins over it. A
//! missing file is no error; a file that does not parse is, with its path, line and column.
//!
//! ```toml
//! [live]
//! source = "camera:0"
//! stages = "background:mode=blur"
//! vcam = "/dev/video10"
//! vcam_format = "nv12"
//! vmc = "127.0.0.1:39539"
//! avatar = "~/avatars/me.vrm"
//! ```

use std::path::PathBuf;

use anyhow::Context;
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub live: LiveConfig,
}

/// `[live]`: defaults of `doppel live`'s options of the same names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveConfig {
    pub source: Option<String>,
    pub stages: Option<String>,
    pub avatar: Option<String>,
    pub vcam: Option<PathBuf>,
    pub vcam_format: Option<String>,
    pub vmc: Option<String>,
}

/// Where the settings file is looked for.
pub fn path() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(file) = var("DOPPEL_CONFIG") {
        return Some(PathBuf::from(file));
    }
    let base = var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("doppel/config.toml"))
}

/// The settings, or the defaults when there is no file.
///
/// # Errors
/// When the file exists but cannot be read, or does not parse (path, line and column named).
pub fn load() -> anyhow::Result<Config> {
    let Some(path) = path() else {
        return Ok(Config::default());
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot read the settings file {}", path.display()))
        }
    };
    toml::from_str(&text).with_context(|| format!("settings file {}", path.display()))
}

//! The one way doppel writes files: every writer (video, images, JSON, JSON Lines, stickers, skills,
//! statistics) claims its path from an [`OutputGuard`] and writes through it.
//!
//! What the guard promises:
//! - **Inputs are never written.** A path that is an input of the run, or links to one (same
//!   device and inode: symlinks and hard links included), is refused, and so is any image written
//!   into a folder the run reads its source images from (a numbered sequence there would overwrite,
//!   or on the next run be read as, source frames).
//! - **Outputs of one run never collide**: two outputs naming one file (`--stats-json` = `-o`) are
//!   refused before any frame is processed.
//! - **Existing files are replaced only when asked**: [`Existing`] says what to do (refuse, replace,
//!   keep, or ask the user through [`OutputGuard::with_confirm`]).
//! - **Missing folders are created**, and the guard says so.
//! - **A file appears only when it is done**: writers write a temporary file in the same folder
//!   (`.NAME.doppel-PID.EXT`, same extension so that FFmpeg and `image` pick the same format) and
//!   the guard renames it over the final name. A run that fails leaves the earlier file untouched;
//!   a run stopped by a signal keeps what it finished. With [`OutputGuard::deferred`] the caller
//!   decides at the end ([`OutputGuard::finish`]); otherwise a file is published as soon as its
//!   writer completes it. A crash-safe video is the exception: it is written under its final name
//!   from the start ([`OutputGuard::stage_in_place`]), so that it is found after a `kill -9`.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, Result};

/// What to do when an output file exists already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Refuse, naming the file and the flag that allows replacing it (the CLI's default when no
    /// one can be asked).
    Refuse,
    /// Replace it (`-y`, `--overwrite`; the library's default).
    Replace,
    /// Never replace it: refuse without asking (`-n`, `--no-overwrite`).
    Never,
    /// Ask through the confirm callback; refuse when there is none.
    Ask,
}

/// A file's identity: device and inode, the same for every name (link) of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

fn file_id(path: &Path) -> Option<FileId> {
    // `metadata` follows symlinks: a link to an input has the input's identity.
    std::fs::metadata(path).ok().map(|m| FileId {
        dev: m.dev(),
        ino: m.ino(),
    })
}

/// An absolute, lexically clean form of a path whose file may not exist yet: the folder is
/// resolved (symlinks included) as far as it exists, the rest appended.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return absolute,
        }
    }
    let mut out = existing
        .canonicalize()
        .unwrap_or_else(|_| existing.to_path_buf());
    for name in rest.iter().rev() {
        out.push(name);
    }
    out
}

/// A file being written under a temporary name.
#[derive(Debug)]
struct StagedState {
    temp: PathBuf,
    target: PathBuf,
    /// The writer finished it: the file is complete and valid.
    complete: bool,
    /// A cut-off copy is still readable (fragmented MP4, Matroska, JSON Lines): an abort keeps it.
    readable_if_cut: bool,
    /// Renamed into place or removed.
    settled: bool,
}

impl StagedState {
    fn publish(&mut self) -> Result<()> {
        self.settled = true;
        if self.temp == self.target {
            return Ok(());
        }
        std::fs::rename(&self.temp, &self.target).map_err(|e| {
            let _ = std::fs::remove_file(&self.temp);
            Error::output(
                &self.target,
                format!("cannot move the finished file into place: {e}"),
            )
        })
    }

    fn discard(&mut self) {
        self.settled = true;
        let _ = std::fs::remove_file(&self.temp);
    }
}

impl Drop for StagedState {
    /// Nobody settled it (a writer dropped on an error path): the earlier file stays as it was.
    fn drop(&mut self) {
        if !self.settled {
            self.discard();
        }
    }
}

type Confirm = Box<dyn FnMut(&Path) -> bool + Send>;
type Note = Box<dyn Fn(&str) + Send>;

struct Inner {
    existing: Existing,
    confirm: Option<Confirm>,
    note: Note,
    deferred: bool,
    inputs: Vec<(FileId, PathBuf)>,
    /// Folders the run reads source images from.
    image_folders: Vec<(FileId, PathBuf)>,
    /// Claimed outputs, resolved.
    outputs: Vec<PathBuf>,
    staged: Vec<Arc<Mutex<StagedState>>>,
}

/// Checks and writes every output of a run; cheap to clone (clones share one state).
#[derive(Clone)]
pub struct OutputGuard {
    inner: Arc<Mutex<Inner>>,
}

impl Default for OutputGuard {
    /// Replaces existing files, publishes each file when it is complete.
    fn default() -> Self {
        Self::new(Existing::Replace)
    }
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // A writer that panicked mid-claim leaves consistent data: the lists only grow.
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn lock_staged(s: &Mutex<StagedState>) -> MutexGuard<'_, StagedState> {
    s.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// True for the inputs that are no files: the synthetic pattern, cameras and standard input.
fn is_virtual_input(input: &str) -> bool {
    input == "synthetic"
        || input.starts_with("synthetic:")
        || crate::source::is_stdin_input(input)
        || crate::source::camera::is_camera_input(input)
}

/// Where a writer writes a staged file.
#[derive(Debug)]
pub struct Staged {
    state: Arc<Mutex<StagedState>>,
    temp: PathBuf,
    target: PathBuf,
    deferred: bool,
}

impl Staged {
    /// The temporary file to write.
    pub fn temp(&self) -> &Path {
        &self.temp
    }

    /// The final name, for messages.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The writer finished the file: publish it now, or mark it for [`OutputGuard::finish`].
    ///
    /// # Errors
    /// [`Error::Output`] when the rename fails.
    pub fn complete(&self) -> Result<()> {
        let mut s = lock_staged(&self.state);
        s.complete = true;
        if self.deferred || s.settled {
            return Ok(());
        }
        s.publish()
    }

    /// The writer gives up: the temporary file is removed, an earlier file stays as it was.
    pub fn discard(&self) {
        lock_staged(&self.state).discard();
    }
}

impl Drop for Staged {
    /// Without a deferring guard nobody else settles the file: an incomplete one is removed.
    fn drop(&mut self) {
        if !self.deferred {
            let mut s = lock_staged(&self.state);
            if !s.settled && !s.complete {
                s.discard();
            }
        }
    }
}

impl OutputGuard {
    /// A guard that treats existing files as `existing` says.
    pub fn new(existing: Existing) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                existing,
                confirm: None,
                note: Box::new(|line| {
                    // A closed terminal (SIGHUP) must not turn a note into a failure.
                    let _ = writeln!(std::io::stderr(), "{line}");
                }),
                deferred: false,
                inputs: Vec::new(),
                image_folders: Vec::new(),
                outputs: Vec::new(),
                staged: Vec::new(),
            })),
        }
    }

    /// The library's default for a sink opened on its own: replaces existing files, refuses the
    /// source's own file.
    pub fn for_source(source: &crate::source::SourceInfo) -> Self {
        let guard = Self::default();
        if let Some(path) = &source.path {
            guard.add_input_path(path);
        }
        guard
    }

    /// Asks `confirm(path)` before replacing an existing file (with [`Existing::Ask`]).
    #[must_use]
    pub fn with_confirm(self, confirm: impl FnMut(&Path) -> bool + Send + 'static) -> Self {
        lock(&self.inner).confirm = Some(Box::new(confirm));
        self
    }

    /// Sends notes ("created folder out") to `note` instead of stderr.
    #[must_use]
    pub fn with_notes(self, note: impl Fn(&str) + Send + 'static) -> Self {
        lock(&self.inner).note = Box::new(note);
        self
    }

    /// Staged files wait for [`OutputGuard::finish`] instead of being published when complete.
    #[must_use]
    pub fn deferred(self) -> Self {
        lock(&self.inner).deferred = true;
        self
    }

    /// Registers what an input string names (a file, a folder or glob of images; the synthetic
    /// source and cameras name no file) so that no output can be written onto it.
    pub fn add_input(&self, input: &str) {
        if is_virtual_input(input) {
            return;
        }
        let mut inner = lock(&self.inner);
        if input.contains(['*', '?', '[']) {
            if let Ok(paths) = glob::glob(input) {
                for path in paths.filter_map(std::result::Result::ok) {
                    if let Some(id) = file_id(&path) {
                        inner.inputs.push((id, path.clone()));
                    }
                    let folder = path
                        .parent()
                        .filter(|p| !p.as_os_str().is_empty())
                        .unwrap_or(Path::new("."));
                    if let Some(id) = file_id(folder) {
                        if !inner.image_folders.iter().any(|(i, _)| *i == id) {
                            inner.image_folders.push((id, folder.to_path_buf()));
                        }
                    }
                }
            }
            return;
        }
        let path = Path::new(input);
        let Some(id) = file_id(path) else { return };
        if path.is_dir() {
            inner.image_folders.push((id, path.to_path_buf()));
            if let Ok(entries) = std::fs::read_dir(path) {
                for entry in entries.filter_map(std::result::Result::ok) {
                    if let Some(id) = file_id(&entry.path()) {
                        inner.inputs.push((id, entry.path()));
                    }
                }
            }
        } else {
            inner.inputs.push((id, path.to_path_buf()));
        }
    }

    /// Registers an input file given as a path (a photo, a picture).
    pub fn add_input_path(&self, path: &Path) {
        if let Some(id) = file_id(path) {
            lock(&self.inner).inputs.push((id, path.to_path_buf()));
        }
    }

    /// Checks that `path` may be written (see the module doc), creates its folder and records it
    /// as an output of the run.
    ///
    /// # Errors
    /// [`Error::Output`] naming the path and why: an input, another output, an existing file
    /// without permission to replace it, a folder that cannot be created.
    pub fn claim(&self, path: &Path) -> Result<()> {
        let mut inner = lock(&self.inner);
        check_identity(&inner, path)?;
        if path.is_dir() {
            return Err(Error::output(path, "is a folder; name a file inside it"));
        }
        if path.exists() {
            let replace =
                match inner.existing {
                    Existing::Replace => true,
                    Existing::Never => return Err(Error::output(
                        path,
                        "exists and --no-overwrite (-n) keeps existing files; choose another name",
                    )),
                    Existing::Refuse => false,
                    Existing::Ask => match inner.confirm.as_mut() {
                        Some(confirm) => {
                            if !confirm(path) {
                                return Err(Error::output(path, "exists; not replaced"));
                            }
                            true
                        }
                        None => false,
                    },
                };
            if !replace {
                return Err(Error::output(
                    path,
                    "exists; pass -y (--overwrite) to replace it, or choose another name",
                ));
            }
        }
        create_folder(&inner, path)?;
        remove_stale_temps(&inner, path);
        let resolved = resolved(path);
        inner.outputs.push(resolved);
        Ok(())
    }

    /// Checks one file of a numbered sequence that was claimed as a whole ([`OutputGuard::claim_sequence`]):
    /// not an input, not inside a source-image folder. Existing files were allowed by the claim.
    ///
    /// # Errors
    /// As [`OutputGuard::claim`].
    pub fn check_member(&self, path: &Path) -> Result<()> {
        check_identity(&lock(&self.inner), path)
    }

    /// Claims a numbered sequence by its first file: the folder is checked and created, an
    /// existing first file needs permission as in [`OutputGuard::claim`].
    ///
    /// # Errors
    /// As [`OutputGuard::claim`].
    pub fn claim_sequence(&self, first: &Path) -> Result<()> {
        self.claim(first)
    }

    /// Claims `path` and stages it: the writer writes [`Staged::temp`] and calls
    /// [`Staged::complete`] when the file is valid. `readable_if_cut` says whether a cut-off copy
    /// is still readable (then an abort keeps it under the final name).
    ///
    /// # Errors
    /// As [`OutputGuard::claim`].
    pub fn stage(&self, path: &Path, readable_if_cut: bool) -> Result<Staged> {
        self.claim(path)?;
        Ok(self.stage_claimed(path, readable_if_cut))
    }

    /// Claims `path` for a writer that must write under the final name from the start: a
    /// crash-safe video, which has to be found under its name after `kill -9` or a power cut.
    /// An earlier file is replaced when writing starts; the file is removed if the writer
    /// discards it (no frames).
    ///
    /// # Errors
    /// As [`OutputGuard::claim`].
    pub fn stage_in_place(&self, path: &Path) -> Result<Staged> {
        self.claim(path)?;
        Ok(self.stage_at(path, path.to_path_buf(), true))
    }

    /// Stages a path that was claimed before.
    pub fn stage_claimed(&self, path: &Path, readable_if_cut: bool) -> Staged {
        self.stage_at(path, temp_name(path), readable_if_cut)
    }

    fn stage_at(&self, path: &Path, temp: PathBuf, readable_if_cut: bool) -> Staged {
        let mut inner = lock(&self.inner);
        let state = Arc::new(Mutex::new(StagedState {
            temp: temp.clone(),
            target: path.to_path_buf(),
            complete: false,
            readable_if_cut,
            settled: false,
        }));
        inner.staged.push(state.clone());
        Staged {
            state,
            temp,
            target: path.to_path_buf(),
            deferred: inner.deferred,
        }
    }

    /// Writes a whole file that was claimed before: a temporary file, then renamed into place.
    ///
    /// # Errors
    /// [`Error::Output`] naming `path` when writing or renaming fails.
    pub fn write_claimed(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        self.write_claimed_with(path, |temp| {
            std::fs::File::create(temp)
                .and_then(|mut f| {
                    f.write_all(bytes)?;
                    f.sync_all()
                })
                .map_err(|e| Error::output(path, format!("cannot write: {e}")))
        })
    }

    /// Writes a claimed file through `write(temp)`, then renames the temporary file into place;
    /// when `write` fails the temporary file is removed and an earlier file stays as it was.
    ///
    /// # Errors
    /// What `write` returns; [`Error::Output`] when the rename fails.
    pub fn write_claimed_with(
        &self,
        path: &Path,
        write: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<()> {
        let temp = temp_name(path);
        if let Err(e) = write(&temp) {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
        std::fs::rename(&temp, path).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            Error::output(
                path,
                format!("cannot move the finished file into place: {e}"),
            )
        })
    }

    /// [`OutputGuard::claim`] and [`OutputGuard::write_claimed`] in one.
    ///
    /// # Errors
    /// As both.
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        self.claim(path)?;
        self.write_claimed(path, bytes)
    }

    /// Settles every staged file: with `keep`, the complete ones are published (a writer marks a
    /// cut-off file that is still readable complete too, e.g. a crash-safe video when the disk
    /// filled up); everything else is removed, leaving any earlier file as it was.
    ///
    /// # Errors
    /// [`Error::Output`] for the first rename that fails.
    pub fn finish(&self, keep: bool) -> Result<()> {
        let staged: Vec<_> = lock(&self.inner).staged.drain(..).collect();
        let mut first = None;
        for s in staged {
            let mut s = lock_staged(&s);
            if s.settled {
                continue;
            }
            if keep && s.complete {
                if let Err(e) = s.publish() {
                    first.get_or_insert(e);
                }
            } else {
                s.discard();
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// For an abort (a repeated signal): keeps what is readable under its final name, removes the
    /// rest, and says which is which. Never blocks on a writer: a file whose state is in use is
    /// left as it is.
    pub fn abort(&self) -> Vec<String> {
        let Ok(mut inner) = self.inner.try_lock() else {
            return vec!["outputs are being written; left as they are".to_string()];
        };
        let staged: Vec<_> = inner.staged.drain(..).collect();
        drop(inner);
        let mut lines = Vec::new();
        for s in staged {
            let Ok(mut s) = s.try_lock() else { continue };
            if s.settled {
                continue;
            }
            let target = s.target.display().to_string();
            if s.complete || s.readable_if_cut {
                match s.publish() {
                    Ok(()) => lines.push(format!("kept what was written in {target}")),
                    Err(e) => lines.push(e.to_string()),
                }
            } else {
                s.discard();
                lines.push(format!(
                    "{target}: an unfinished file of this kind cannot be read, so it was removed \
                     (earlier file unchanged); --crash-safe keeps what was written"
                ));
            }
        }
        lines
    }
}

/// Refuses inputs, links to inputs, other outputs and images into source-image folders.
fn check_identity(inner: &Inner, path: &Path) -> Result<()> {
    if let Some(id) = file_id(path) {
        if let Some((_, input)) = inner.inputs.iter().find(|(i, _)| *i == id) {
            let how = if resolved(path) == resolved(input) {
                "is an input of this run".to_string()
            } else {
                format!("is the same file as the input {} (a link)", input.display())
            };
            return Err(Error::output(
                path,
                format!("{how}; doppel never writes onto its input, choose another output name"),
            ));
        }
    }
    let resolved = resolved(path);
    if inner.outputs.contains(&resolved) {
        return Err(Error::output(
            path,
            "is already another output of this run (for example -o and --stats-json); give each its own name",
        ));
    }
    if crate::source::images::is_image_path(path) {
        let folder = resolved.parent().unwrap_or(Path::new("/"));
        if let Some(id) = file_id(folder) {
            if let Some((_, input)) = inner.image_folders.iter().find(|(i, _)| *i == id) {
                return Err(Error::output(
                    path,
                    format!(
                        "is inside {}, the folder the source images are read from; write the images into another folder",
                        input.display()
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn create_folder(inner: &Inner, path: &Path) -> Result<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::output(
            path,
            format!("cannot create the folder {}: {e}", dir.display()),
        )
    })?;
    (inner.note)(&format!("created folder {}", dir.display()));
    Ok(())
}

/// Removes temporary files for `path` that a killed run (`kill -9`, power cut) left behind: those
/// whose process is gone. They are unfinished and unreadable (a crash-safe video is written under
/// its final name instead).
fn remove_stale_temps(inner: &Inner, path: &Path) {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let ours = temp_name(path);
    let Some(ours) = ours.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let own_pid = std::process::id().to_string();
    let Some((prefix, suffix)) = ours.split_once(&own_pid) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(std::result::Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .and_then(|pid| pid.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        // SAFETY: signal 0 only checks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone && std::fs::remove_file(entry.path()).is_ok() {
            (inner.note)(&format!(
                "removed {}, an unfinished file left by a run that was killed",
                entry.path().display()
            ));
        }
    }
}

/// `dir/.NAME.doppel-PID.EXT`: hidden, in the same folder (so the rename is atomic), with the same
/// extension (which picks the container or image format).
fn temp_name(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(|| "out".into(), |s| s.to_string_lossy());
    let name = match path.extension() {
        Some(ext) => format!(
            ".{stem}.doppel-{}.{}",
            std::process::id(),
            ext.to_string_lossy()
        ),
        None => format!(".{stem}.doppel-{}", std::process::id()),
    };
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_inputs_links_and_twice_claimed_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.mp4");
        std::fs::write(&input, b"video").unwrap();
        let hard = dir.path().join("hard.mp4");
        std::fs::hard_link(&input, &hard).unwrap();
        let soft = dir.path().join("soft.mp4");
        std::os::unix::fs::symlink(&input, &soft).unwrap();
        let guard = OutputGuard::new(Existing::Replace);
        guard.add_input(input.to_str().unwrap());
        for bad in [&input, &hard, &soft] {
            let e = guard.claim(bad).unwrap_err().to_string();
            assert!(e.contains("input"), "{e}");
        }
        let out = dir.path().join("out.mp4");
        guard.claim(&out).unwrap();
        let e = guard.claim(&out).unwrap_err().to_string();
        assert!(e.contains("another output"), "{e}");
        assert_eq!(std::fs::read(&input).unwrap(), b"video");
    }

    #[test]
    fn existing_files_need_permission_and_failed_writes_keep_them() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.json");
        std::fs::write(&old, b"earlier").unwrap();
        let e = OutputGuard::new(Existing::Refuse).claim(&old).unwrap_err();
        assert!(e.to_string().contains("-y"), "{e}");
        let e = OutputGuard::new(Existing::Never).claim(&old).unwrap_err();
        assert!(e.to_string().contains("--no-overwrite"), "{e}");
        let asked = OutputGuard::new(Existing::Ask).with_confirm(|_| false);
        assert!(asked.claim(&old).is_err());

        // Staged but never completed: the earlier file stays.
        let guard = OutputGuard::new(Existing::Replace).deferred();
        let staged = guard.stage(&old, false).unwrap();
        std::fs::write(staged.temp(), b"half").unwrap();
        guard.finish(true).unwrap();
        assert_eq!(std::fs::read(&old).unwrap(), b"earlier");
        assert!(!staged.temp().exists());

        // Completed: published.
        let guard = OutputGuard::new(Existing::Replace);
        let staged = guard.stage(&old, false).unwrap();
        std::fs::write(staged.temp(), b"new").unwrap();
        staged.complete().unwrap();
        assert_eq!(std::fs::read(&old).unwrap(), b"new");
    }

    #[test]
    fn creates_folders_and_refuses_source_image_folders() {
        let dir = tempfile::tempdir().unwrap();
        let notes = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = notes.clone();
        let guard = OutputGuard::default().with_notes(move |l| seen.lock().unwrap().push(l.into()));
        let nested = dir.path().join("a/b/out.json");
        guard.write(&nested, b"{}").unwrap();
        assert_eq!(std::fs::read(&nested).unwrap(), b"{}");
        assert!(notes.lock().unwrap()[0].contains("created folder"));

        let shots = dir.path().join("shots");
        std::fs::create_dir(&shots).unwrap();
        std::fs::write(shots.join("00001.png"), b"png").unwrap();
        guard.add_input(shots.to_str().unwrap());
        let e = guard
            .claim(&shots.join("00002.png"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("source images"), "{e}");
        // A video next to them is fine.
        guard.claim(&shots.join("clip.mp4")).unwrap();
    }

    #[test]
    fn temporary_files_of_killed_runs_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        // No process has pid 0x3fffffff (above pid_max); pid 1 always runs.
        let stale = dir.path().join(".out.doppel-1073741823.mp4");
        let running = dir.path().join(".out.doppel-1.mp4");
        let other = dir.path().join(".other.doppel-1073741823.mp4");
        for f in [&stale, &running, &other] {
            std::fs::write(f, b"cut").unwrap();
        }
        OutputGuard::default()
            .with_notes(|_| {})
            .claim(&dir.path().join("out.mp4"))
            .unwrap();
        assert!(!stale.exists());
        assert!(running.exists() && other.exists());
    }
}

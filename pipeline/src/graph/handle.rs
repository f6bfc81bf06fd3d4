//! [`RunHandle`]: the one handle on a running pipeline. Any thread (a signal handler, a timer, the
//! window, the sink that reached `--frames`) stops the run through it, and a live front end
//! switches stages on and off and sends them commands through it.
//!
//! Commands are not part of the [`crate::Stage`] trait: a stage that takes commands asks its
//! [`crate::stages::BuildContext`] for an [`Inbox`] when it is built, naming the commands it
//! accepts, and reads the inbox on its own thread before each frame. So the handle knows, before
//! anything is sent, which stages answer which command: a command no stage takes is refused at once
//! with a message instead of travelling through every stage.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crossbeam_channel::{unbounded, Receiver, Sender};

use crate::live::{Notice, Notifier};
use crate::stage::StageCommand;

/// A stage's registration: its inbox, or its on/off switch.
struct Registered {
    stage: String,
    accepts: Vec<StageCommand>,
    sender: Sender<(u64, StageCommand)>,
}

struct Shared {
    stop: AtomicBool,
    next_id: AtomicU64,
    inboxes: Mutex<Vec<Registered>>,
    switches: Mutex<Vec<(String, Arc<AtomicBool>)>>,
    notify: Option<Notifier>,
}

/// Cheap to clone; every clone is the same run.
#[derive(Clone)]
pub struct RunHandle(Arc<Shared>);

impl Default for RunHandle {
    fn default() -> Self {
        Self::new(None)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic on another thread while it held the lock leaves plain data behind; keep using it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl RunHandle {
    /// A handle whose stages answer commands through `notify` ([`Notice::Reply`]); `None` drops
    /// answers (offline runs take no commands).
    pub fn new(notify: Option<Notifier>) -> Self {
        Self(Arc::new(Shared {
            stop: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            inboxes: Mutex::new(Vec::new()),
            switches: Mutex::new(Vec::new()),
            notify,
        }))
    }

    /// Ends the run cleanly: the source stops reading, frames in flight are finished.
    pub fn stop(&self) {
        self.0.stop.store(true, Ordering::SeqCst);
    }

    /// Whether [`RunHandle::stop`] was called.
    pub fn stopped(&self) -> bool {
        self.0.stop.load(Ordering::Relaxed)
    }

    /// An inbox for stage `stage` taking `accepts` (called by the stage's builder, through
    /// [`crate::stages::BuildContext::inbox`]).
    pub fn inbox(&self, stage: &str, accepts: &[StageCommand]) -> Inbox {
        let (sender, receiver) = unbounded();
        lock(&self.0.inboxes).push(Registered {
            stage: stage.to_string(),
            accepts: accepts.to_vec(),
            sender,
        });
        Inbox {
            stage: stage.to_string(),
            receiver,
            handle: self.clone(),
        }
    }

    /// Sends `command` to every stage that accepts it, answered later by a [`Notice::Reply`]
    /// each. Returns the stages it went to.
    ///
    /// # Errors
    /// The message for the user when no stage of the run takes `command`.
    pub fn broadcast(&self, command: StageCommand) -> Result<Vec<String>, String> {
        self.send(None, command)
    }

    /// Sends `command` to the stages called `stage` that accept it (see [`RunHandle::broadcast`]).
    ///
    /// # Errors
    /// The message for the user when no stage called `stage` takes `command`.
    pub fn send_command(&self, stage: &str, command: StageCommand) -> Result<Vec<String>, String> {
        self.send(Some(stage), command)
    }

    fn send(&self, stage: Option<&str>, command: StageCommand) -> Result<Vec<String>, String> {
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        let mut sent = Vec::new();
        for r in lock(&self.0.inboxes).iter() {
            if stage.is_some_and(|s| s != r.stage) || !r.accepts.contains(&command) {
                continue;
            }
            // A stage whose thread ended (the run is ending) does not answer: nothing to tell.
            if r.sender.send((id, command)).is_ok() {
                sent.push(r.stage.clone());
            }
        }
        if sent.is_empty() {
            let wanted = match command {
                StageCommand::Next => "switch to the next style or avatar (stylize, avatar)",
                StageCommand::Calibrate => "calibrate a neutral face (track)",
            };
            return Err(match stage {
                Some(s) => format!("stage '{s}' cannot {wanted}"),
                None => format!("no stage in this pipeline can {wanted}"),
            });
        }
        Ok(sent)
    }

    /// Registers a stage's on/off switch (see [`crate::live::control::Toggle`]).
    pub(crate) fn add_switch(&self, stage: &str, enabled: Arc<AtomicBool>) {
        lock(&self.0.switches).push((stage.to_string(), enabled));
    }

    /// The stages that can be switched, in pipeline order: name and whether it is on.
    pub fn switches(&self) -> Vec<(String, bool)> {
        lock(&self.0.switches)
            .iter()
            .map(|(n, on)| (n.clone(), on.load(Ordering::Relaxed)))
            .collect()
    }

    /// Switches stage `index` (0-based, pipeline order) off or back on: `Some((name, on))`, or
    /// `None` when there is no such stage.
    pub fn toggle(&self, index: usize) -> Option<(String, bool)> {
        let switches = lock(&self.0.switches);
        let (name, enabled) = switches.get(index)?;
        Some((name.clone(), !enabled.fetch_xor(true, Ordering::Relaxed)))
    }

    fn reply(&self, notice: Notice) {
        if let Some(notify) = &self.0.notify {
            notify(notice);
        }
    }
}

/// A stage's end of the command channel (see the module notes).
pub struct Inbox {
    stage: String,
    receiver: Receiver<(u64, StageCommand)>,
    handle: RunHandle,
}

impl Inbox {
    /// Handles the commands that arrived since the last call, on the caller's (the stage's)
    /// thread; `handle` returns the answer the user sees.
    pub fn handle(&self, mut handle: impl FnMut(StageCommand) -> String) {
        for (id, command) in self.receiver.try_iter() {
            let answer = handle(command);
            self.handle.reply(Notice::Reply {
                id,
                stage: self.stage.clone(),
                command,
                answer,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_reach_only_the_stages_that_take_them() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let handle = RunHandle::new(Some(Arc::new(move |n| lock(&s).push(n))));
        let track = handle.inbox("track", &[StageCommand::Calibrate]);
        let stylize = handle.inbox("stylize", &[StageCommand::Next]);
        assert_eq!(
            handle.broadcast(StageCommand::Next),
            Ok(vec!["stylize".into()])
        );
        assert!(handle
            .send_command("track", StageCommand::Next)
            .unwrap_err()
            .contains("'track' cannot switch"));
        track.handle(|_| unreachable!("track got no command"));
        stylize.handle(|c| format!("did {c:?}"));
        assert_eq!(
            *lock(&seen),
            vec![Notice::Reply {
                id: 1,
                stage: "stylize".into(),
                command: StageCommand::Next,
                answer: "did Next".into(),
            }]
        );
        let none = RunHandle::default();
        assert!(none
            .broadcast(StageCommand::Calibrate)
            .unwrap_err()
            .starts_with("no stage in this pipeline can calibrate"));
        assert!(!none.stopped());
        none.clone().stop();
        assert!(none.stopped());
    }
}

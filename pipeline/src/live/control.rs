//! Live control of the stages: each stage of a live run is wrapped so that the window can switch it
//! off and on (keys 1..9: a switched-off stage passes frames through untouched) and send it
//! commands (next style/avatar, calibrate), which reach the stage on its own thread before its next
//! frame.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::{Frame, Result, Stage, StageCommand};
use crossbeam_channel::{unbounded, Receiver, Sender};

use super::{Notice, Notifier};

/// The window's handle on one stage.
#[derive(Clone)]
pub struct StageControl {
    pub name: String,
    enabled: Arc<AtomicBool>,
    commands: Sender<(u64, StageCommand)>,
}

impl StageControl {
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Flips the stage on or off; returns the new state.
    pub fn toggle(&self) -> bool {
        !self.enabled.fetch_xor(true, Ordering::Relaxed)
    }

    /// Queues `command` (answered with a [`Notice::Reply`] carrying `id`).
    pub fn send(&self, id: u64, command: StageCommand) {
        // The stage thread is gone only when the run is ending; nothing to tell then.
        let _ = self.commands.send((id, command));
    }
}

/// A stage that can be switched off and receives commands.
pub struct Toggle {
    inner: Box<dyn Stage>,
    enabled: Arc<AtomicBool>,
    commands: Receiver<(u64, StageCommand)>,
    notify: Notifier,
}

impl Toggle {
    /// Wraps `inner`; the control goes to the window.
    pub fn wrap(inner: Box<dyn Stage>, notify: Notifier) -> (Self, StageControl) {
        let enabled = Arc::new(AtomicBool::new(true));
        let (tx, rx) = unbounded();
        let control = StageControl {
            name: inner.name().to_string(),
            enabled: enabled.clone(),
            commands: tx,
        };
        (
            Self {
                inner,
                enabled,
                commands: rx,
                notify,
            },
            control,
        )
    }
}

impl Stage for Toggle {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn process(&mut self, frame: Frame) -> Result<Frame> {
        while let Ok((id, command)) = self.commands.try_recv() {
            let answer = self.inner.command(command);
            (self.notify)(Notice::Reply {
                id,
                stage: self.inner.name().to_string(),
                command,
                answer,
            });
        }
        if self.enabled.load(Ordering::Relaxed) {
            self.inner.process(frame)
        } else {
            Ok(frame)
        }
    }

    fn command(&mut self, command: StageCommand) -> Option<String> {
        self.inner.command(command)
    }

    fn warm_up(&mut self, width: u32, height: u32) -> Result<()> {
        self.inner.warm_up(width, height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::StageOptions;
    use crate::stages::{find, BuildContext};
    use crate::{Mode, Rational, Timestamp};
    use std::sync::Mutex;

    #[test]
    fn switched_off_stage_passes_frames_and_commands_are_answered() {
        let entry = find("resize").unwrap();
        let options = StageOptions::new(entry.doc, &[("width".into(), "8".into())]).unwrap();
        let inner = (entry.build)(&options, &BuildContext::new(Mode::Live)).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let (mut stage, control) =
            Toggle::wrap(inner, Arc::new(move |n| s.lock().unwrap().push(n)));
        let frame = || {
            Frame::new(
                0,
                Timestamp::new(0, Rational::new(1, 30)),
                image::RgbaImage::new(16, 16),
            )
        };
        assert_eq!(stage.process(frame()).unwrap().width(), 8);
        assert!(!control.toggle());
        assert_eq!(stage.process(frame()).unwrap().width(), 16);
        assert!(control.toggle());
        control.send(7, StageCommand::Next);
        assert_eq!(stage.process(frame()).unwrap().width(), 8);
        let seen = seen.lock().unwrap();
        assert_eq!(
            *seen,
            vec![Notice::Reply {
                id: 7,
                stage: "resize".into(),
                command: StageCommand::Next,
                answer: None
            }]
        );
    }
}

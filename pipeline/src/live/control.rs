//! Stages the user of a live run can switch off and on (keys 1..9 in `doppel live`): a switched-off
//! stage passes frames through untouched. The switch is registered with the run's
//! [`RunHandle`], which the window uses; commands travel separately (see [`RunHandle`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::graph::RunHandle;
use crate::stage::MetaSet;
use crate::{Frame, Result, Stage};

/// A stage that can be switched off.
pub struct Toggle {
    inner: Box<dyn Stage>,
    enabled: Arc<AtomicBool>,
}

impl Toggle {
    /// Wraps `inner`, its switch registered with `handle` (next in pipeline order).
    pub fn wrap(inner: Box<dyn Stage>, handle: &RunHandle) -> Self {
        let enabled = Arc::new(AtomicBool::new(true));
        handle.add_switch(inner.name(), enabled.clone());
        Self { inner, enabled }
    }
}

impl Stage for Toggle {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn process(&mut self, frame: Frame) -> Result<Frame> {
        if self.enabled.load(Ordering::Relaxed) {
            self.inner.process(frame)
        } else {
            Ok(frame)
        }
    }

    fn warm_up(&mut self, width: u32, height: u32) -> Result<()> {
        self.inner.warm_up(width, height)
    }

    fn analysis(&self) -> Option<MetaSet> {
        self.inner.analysis()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::StageOptions;
    use crate::stages::{find, BuildContext};
    use crate::{Mode, Rational, Timestamp};

    #[test]
    fn switched_off_stage_passes_frames() {
        let entry = find("resize").unwrap();
        let options = StageOptions::new(entry.doc, &[("width".into(), "8".into())]).unwrap();
        let inner = (entry.build)(&options, &BuildContext::new(Mode::Live)).unwrap();
        let handle = RunHandle::default();
        let mut stage = Toggle::wrap(inner, &handle);
        let frame = || {
            Frame::new(
                0,
                Timestamp::new(0, Rational::new(1, 30)),
                image::RgbaImage::new(16, 16),
            )
        };
        assert_eq!(stage.process(frame()).unwrap().width(), 8);
        assert_eq!(handle.toggle(0), Some(("resize".into(), false)));
        assert_eq!(stage.process(frame()).unwrap().width(), 16);
        assert_eq!(handle.toggle(0), Some(("resize".into(), true)));
        assert_eq!(stage.process(frame()).unwrap().width(), 8);
        assert_eq!(handle.toggle(1), None);
        assert_eq!(handle.switches(), vec![("resize".to_string(), true)]);
    }
}

//! The `Stage` trait and the documentation every stage publishes about itself.

use crate::error::Result;
use crate::frame::Frame;
use crate::options::{OptSpec, StageOptions};

/// Whether a pipeline runs live (newest frame wins, drops counted) or offline (every frame, in order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Live,
    Offline,
}

/// A frame transform. Each stage runs on its own thread; it owns its state (sessions, GPU pipelines,
/// filters) and is built once, before the first frame, so configuration errors surface early.
pub trait Stage: Send {
    /// The registry name, e.g. `resize`.
    fn name(&self) -> &str;

    /// Transforms one frame. An error stops the run; frames already written are kept.
    fn process(&mut self, frame: Frame) -> Result<Frame>;

    /// Pays the first frame's one-off costs (shader compilation, the first inference's
    /// allocations) for frames of about `width` x `height`, without changing what the stage will do
    /// with real frames. The pipeline calls it before the source starts, so that a live run's first
    /// frames are not late. The default does nothing.
    fn warm_up(&mut self, _width: u32, _height: u32) -> Result<()> {
        Ok(())
    }

    /// `Some(meta)` when the stage only reads the pixels and writes `meta` into the frame's meta,
    /// needing no meta from the stages before it (`track`, `hands`, `pose`, `segment`): a live run
    /// then runs consecutive such stages side by side ([`crate::graph::parallel`]). The default is
    /// `None`: the stage runs in its place in the order.
    fn analysis(&self) -> Option<MetaSet> {
        None
    }

    /// `Some` when the stage works on several frames at once (model workers of its own, see
    /// [`Pipelined`]); the graph then starts and finishes its frames instead of calling
    /// [`Stage::process`]. The default is `None`.
    fn pipelined(&mut self) -> Option<&mut dyn Pipelined> {
        None
    }
}

/// A stage whose heavy part (a model) runs on workers of its own, one frame each, while what must
/// see the frames in order (colours, temporal smoothing, upsampling) runs on the stage's thread.
/// The graph starts frames while fewer than [`Pipelined::depth`] are in flight and finishes them
/// in the order they came, so the output is the same as with [`Stage::process`].
pub trait Pipelined {
    /// How many frames may be in flight (the workers).
    fn depth(&self) -> usize;

    /// Does the in-order part before the model and hands `frame` to a worker; does not wait.
    fn start(&mut self, frame: Frame) -> Result<()>;

    /// Gets a message each time a worker is done with a frame, so that the graph can wait for a
    /// new frame and a finished one at once.
    fn finished(&self) -> crossbeam_channel::Receiver<()>;

    /// The oldest started frame, completed, when its worker is done; `None` while it runs.
    fn try_finish(&mut self) -> Option<Result<Frame>>;
}

/// Commands a live run can send to its stages (through [`crate::graph::RunHandle`]; a stage that
/// takes some asks its [`crate::stages::BuildContext`] for an inbox).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageCommand {
    /// Switch to the next style, avatar or other variant the stage offers.
    Next,
    /// Take the current face as the neutral one (tracking calibration).
    Calibrate,
}

/// Kinds of frame meta a stage can need or provide (a small set, combined with `|`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetaSet(u8);

impl MetaSet {
    pub const NONE: MetaSet = MetaSet(0);
    /// `meta.faces`, from `track`.
    pub const FACES: MetaSet = MetaSet(1);
    /// `meta.bodies`, from `pose`.
    pub const BODIES: MetaSet = MetaSet(2);
    /// `meta.mask`, from `segment`.
    pub const MASK: MetaSet = MetaSet(4);
    /// `meta.hands`, from `hands`.
    pub const HANDS: MetaSet = MetaSet(8);

    const ALL: [(MetaSet, &'static str, &'static str); 4] = [
        (MetaSet::FACES, "faces", "track"),
        (MetaSet::BODIES, "bodies", "pose"),
        (MetaSet::MASK, "the person mask", "segment"),
        (MetaSet::HANDS, "hands", "hands"),
    ];

    pub const fn union(self, other: MetaSet) -> MetaSet {
        MetaSet(self.0 | other.0)
    }

    /// What of `self` is not in `other`.
    pub const fn without(self, other: MetaSet) -> MetaSet {
        MetaSet(self.0 & !other.0)
    }

    pub const fn intersects(self, other: MetaSet) -> bool {
        self.0 & other.0 != 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Each kind in the set with its description and the stage that provides it.
    pub fn parts(self) -> impl Iterator<Item = (MetaSet, &'static str, &'static str)> {
        Self::ALL
            .into_iter()
            .filter(move |(m, _, _)| self.intersects(*m))
    }
}

impl std::ops::BitOr for MetaSet {
    type Output = MetaSet;
    fn bitor(self, other: MetaSet) -> MetaSet {
        self.union(other)
    }
}

/// What a stage needs in the meta of the frames it gets, and what it adds, for its options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Contract {
    /// Meta that must come from a stage before this one.
    pub needs: MetaSet,
    /// At least one of these must come from a stage before (a stage that draws whatever it finds:
    /// with none of them it would do nothing). Empty: no such condition.
    pub needs_any: MetaSet,
    /// Meta this stage writes.
    pub provides: MetaSet,
}

impl Contract {
    /// Needs nothing, provides nothing (pixel stages).
    pub const NONE: Contract = Contract {
        needs: MetaSet::NONE,
        needs_any: MetaSet::NONE,
        provides: MetaSet::NONE,
    };

    /// Needs nothing and provides `meta` (tracking stages).
    pub const fn provides(meta: MetaSet) -> Contract {
        Contract {
            provides: meta,
            ..Contract::NONE
        }
    }
}

/// What a stage is, for `doppel stages`, option checking and pipeline checking.
#[derive(Clone, Copy, Debug)]
pub struct StageDoc {
    pub name: &'static str,
    pub summary: &'static str,
    /// Every option, declared once (see [`crate::options`]).
    pub options: &'static [OptSpec],
    /// A pipeline that uses it, e.g. `resize:width=640,blur:radius=2`.
    pub example: &'static str,
    /// Its meta contract for the given options (options can change what it needs).
    pub contract: fn(&StageOptions) -> Result<Contract>,
}

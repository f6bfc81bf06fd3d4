//! Plain data that frames carry in their meta and the trackers produce: points, boxes, rotated crop
//! regions, faces and bodies. It depends on nothing else in the crate, so the frame type does not pull
//! in tracking (`crate::track` re-exports it as `track::types`). All
//! coordinates are frame pixels with (0, 0) at the top-left corner of the top-left pixel (a pixel's
//! centre is at +0.5), x to the right, y down.

use std::collections::BTreeMap;

use serde::Serialize;

/// A point in frame pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    /// Euclidean distance to `other`.
    pub fn distance(self, other: Point) -> f32 {
        (self.x - other.x).hypot(self.y - other.y)
    }

    /// The midpoint of `self` and `other`.
    pub fn midpoint(self, other: Point) -> Point {
        Point::new((self.x + other.x) * 0.5, (self.y + other.y) * 0.5)
    }
}

/// An axis-aligned box in frame pixels, `x0 <= x1`, `y0 <= y1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Rect {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl Rect {
    pub const fn new(x0: f32, y0: f32, x1: f32, y1: f32) -> Self {
        Self { x0, y0, x1, y1 }
    }

    /// The smallest box holding every point; `None` for no points.
    pub fn bounding(points: impl IntoIterator<Item = Point>) -> Option<Rect> {
        let mut it = points.into_iter();
        let first = it.next()?;
        let mut r = Rect::new(first.x, first.y, first.x, first.y);
        for p in it {
            r.x0 = r.x0.min(p.x);
            r.y0 = r.y0.min(p.y);
            r.x1 = r.x1.max(p.x);
            r.y1 = r.y1.max(p.y);
        }
        Some(r)
    }

    pub fn width(&self) -> f32 {
        (self.x1 - self.x0).max(0.0)
    }

    pub fn height(&self) -> f32 {
        (self.y1 - self.y0).max(0.0)
    }

    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    pub fn center(&self) -> Point {
        Point::new((self.x0 + self.x1) * 0.5, (self.y0 + self.y1) * 0.5)
    }

    /// Whether `p` lies inside the box grown by `margin` on every side.
    pub fn contains(&self, p: Point, margin: f32) -> bool {
        p.x >= self.x0 - margin
            && p.x <= self.x1 + margin
            && p.y >= self.y0 - margin
            && p.y <= self.y1 + margin
    }

    /// Intersection over union; 0 when either box is empty.
    pub fn iou(&self, other: &Rect) -> f32 {
        let ix = (self.x1.min(other.x1) - self.x0.max(other.x0)).max(0.0);
        let iy = (self.y1.min(other.y1) - self.y0.max(other.y0)).max(0.0);
        let inter = ix * iy;
        let union = self.area() + other.area() - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }
}

/// The detector's six keypoints, in this order (the person's right = the left side of an unmirrored
/// photo).
pub const KEYPOINT_NAMES: [&str; 6] = [
    "right_eye",
    "left_eye",
    "nose_tip",
    "mouth_center",
    "right_ear_tragion",
    "left_ear_tragion",
];

/// Index of the right eye in [`Detection::keypoints`] / [`Face::keypoints`].
pub const RIGHT_EYE: usize = 0;
/// Index of the left eye in [`Detection::keypoints`] / [`Face::keypoints`].
pub const LEFT_EYE: usize = 1;

/// One face found by the detector.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Detection {
    pub rect: Rect,
    /// Detector confidence, 0..1.
    pub score: f32,
    /// See [`KEYPOINT_NAMES`].
    pub keypoints: [Point; 6],
}

/// A square region of the frame, rotated by `angle` (radians, clockwise on screen since y points
/// down) about its centre: what the mesh model sees, resampled to its input size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Roi {
    pub center: Point,
    /// Side length in frame pixels.
    pub size: f32,
    pub angle: f32,
}

impl Roi {
    /// The map from an `n` x `n` crop (continuous pixel coordinates, 0..n) to frame pixels.
    pub fn to_frame(&self, n: u32) -> Affine {
        let k = self.size / n as f32;
        let (s, c) = self.angle.sin_cos();
        let (a, b, d, e) = (c * k, -s * k, s * k, c * k);
        let half = n as f32 * 0.5;
        Affine {
            a,
            b,
            c: self.center.x - (a + b) * half,
            d,
            e,
            f: self.center.y - (d + e) * half,
        }
    }

    /// The axis-aligned box around the rotated square.
    pub fn bounds(&self) -> Rect {
        let (s, c) = self.angle.sin_cos();
        let half = self.size * 0.5 * (c.abs() + s.abs());
        Rect::new(
            self.center.x - half,
            self.center.y - half,
            self.center.x + half,
            self.center.y + half,
        )
    }
}

/// A 2D affine map: `x' = a x + b y + c`, `y' = d x + e y + f`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine {
    pub a: f32,
    pub b: f32,
    pub c: f32,
    pub d: f32,
    pub e: f32,
    pub f: f32,
}

impl Affine {
    pub fn apply(&self, x: f32, y: f32) -> Point {
        Point::new(
            self.a * x + self.b * y + self.c,
            self.d * x + self.e * y + self.f,
        )
    }

    /// The same map applied half an input pixel earlier, `(x - 0.5, y - 0.5)`: what doppel's warp
    /// (which reads input pixel u at u + 0.5) needs to sample as a map whose input pixel centres
    /// are whole numbers (MediaPipe's crops and letterboxes) does.
    pub fn half_pixel_back(&self) -> Affine {
        Affine {
            c: self.c - 0.5 * (self.a + self.b),
            f: self.f - 0.5 * (self.d + self.e),
            ..*self
        }
    }

    /// How many frame pixels one unit of the input spans (the scale of a similarity transform).
    pub fn scale(&self) -> f32 {
        self.a.hypot(self.d)
    }
}

/// One tracked face in a frame.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Face {
    /// Axis-aligned box around the mesh.
    pub rect: Rect,
    /// The mesh model's face-present probability, 0..1.
    pub score: f32,
    /// MediaPipe's face mesh: x, y in frame pixels, z (depth, smaller = closer to the camera) in the
    /// same scale as x, relative to the face's centre. 478 points with the default v2 mesh model
    /// (`face_landmarks_detector.onnx`): the 468 of the mesh topology, then the person's right iris
    /// (centre, then 4 on the rim) at 468..473 and the left one at 473..478; 468 points with the v1
    /// model (`face_landmark.onnx`).
    pub mesh: Vec<[f32; 3]>,
    /// Six keypoints as the detector gives them (see [`KEYPOINT_NAMES`]): the detector's own where it
    /// ran on this frame, else taken from the mesh.
    pub keypoints: [Point; 6],
    /// The detector's result when the detector ran on this frame and found this face; `None` on
    /// frames where the face was followed from the previous frame's mesh.
    pub detection: Option<Detection>,
    /// The region the mesh model looked at.
    pub roi: Roi,
    /// Head rotation and position; `None` until computed from the mesh.
    pub pose: Option<HeadPose>,
    /// Expression values keyed by ARKit blendshape name (`eyeBlinkLeft`, `jawOpen`, `mouthPucker`,
    /// …), each 0..1, "Left" = the person's left: THE one source of ARKit-named values that every
    /// consumer reads (avatar, VMC, `doppel track --jsonl`). With the v2 mesh (the default) it holds
    /// all 52 names of `crate::rig::ARKIT_NAMES`: MediaPipe's blendshape model for 51
    /// (`track::blendshapes`), `tongueOut` from the mesh model; smoothed per channel, and measured
    /// from the person's neutral face after a calibration. With the v1 mesh it holds the names
    /// `track::expression` measures from the mesh geometry (blink, jaw, smile, stretch, brows; gaze
    /// with the iris model). Empty until computed.
    pub expressions: BTreeMap<String, f32>,
}

impl Face {
    /// Mesh point `i` as a 2D point.
    pub fn point(&self, i: usize) -> Option<Point> {
        self.mesh.get(i).map(|p| Point::new(p[0], p[1]))
    }

    /// Expression value by ARKit name; 0 when absent.
    pub fn expression(&self, name: &str) -> f32 {
        self.expressions.get(name).copied().unwrap_or(0.0)
    }
}

/// Head rotation in degrees and position. Conventions (image coordinates, unmirrored):
/// - `yaw` > 0: the nose points towards the image's right (+x);
/// - `pitch` > 0: the nose points up (towards -y);
/// - `roll` > 0: the head tilts clockwise on screen (the eye line turns from +x towards +y);
/// - `translation`: x, y = the head centre in frame pixels; z = approximate distance from the camera
///   in centimetres (from the inter-ocular distance, assuming 6.3 cm and a 60° horizontal field of view).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct HeadPose {
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
    pub translation: [f32; 3],
}

/// The 33 body keypoints of BlazePose, in model order.
pub const BODY_KEYPOINT_NAMES: [&str; 33] = [
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
];

/// One body keypoint: x, y in frame pixels, z depth in the same scale as x (relative to the hips,
/// smaller = closer to the camera), visibility 0..1 (likelihood the point is visible in the frame).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct BodyKeypoint {
    pub x: f32,
    pub y: f32,
    pub z: f32,
    pub visibility: f32,
}

/// One tracked body: 33 keypoints in [`BODY_KEYPOINT_NAMES`] order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Body {
    /// Axis-aligned box around the keypoints.
    pub rect: Rect,
    /// The pose model's person-present probability, 0..1.
    pub score: f32,
    pub keypoints: Vec<BodyKeypoint>,
}

/// The 21 hand landmarks of MediaPipe Hands, in model order.
pub const HAND_LANDMARK_NAMES: [&str; 21] = [
    "wrist",
    "thumb_cmc",
    "thumb_mcp",
    "thumb_ip",
    "thumb_tip",
    "index_finger_mcp",
    "index_finger_pip",
    "index_finger_dip",
    "index_finger_tip",
    "middle_finger_mcp",
    "middle_finger_pip",
    "middle_finger_dip",
    "middle_finger_tip",
    "ring_finger_mcp",
    "ring_finger_pip",
    "ring_finger_dip",
    "ring_finger_tip",
    "pinky_mcp",
    "pinky_pip",
    "pinky_dip",
    "pinky_tip",
];

/// Which of the person's hands: `Left` is the person's left hand (the image's right side in an
/// unmirrored frame), as for faces and bodies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Handedness {
    Left,
    Right,
}

/// One tracked hand.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hand {
    /// Axis-aligned box around the landmarks.
    pub rect: Rect,
    /// The landmark model's hand-present probability, 0..1.
    pub score: f32,
    /// The person's left or right hand.
    pub handedness: Handedness,
    /// Probability of [`Hand::handedness`], 0.5..1.
    pub handedness_score: f32,
    /// 21 points in [`HAND_LANDMARK_NAMES`] order: x, y in frame pixels, z (depth, smaller = closer
    /// to the camera) in the same scale as x, relative to the wrist.
    pub landmarks: Vec<[f32; 3]>,
    /// The same 21 points in metres, origin near the hand's centre, x right, y down, z away from the
    /// camera (MediaPipe's world landmarks, rotated into the frame).
    pub world: Vec<[f32; 3]>,
    /// The region the landmark model looked at.
    pub roi: Roi,
}

impl Hand {
    /// Landmark `i` as a 2D point.
    pub fn point(&self, i: usize) -> Option<Point> {
        self.landmarks.get(i).map(|p| Point::new(p[0], p[1]))
    }
}

/// Whose neutral face expression values are measured from (see `track`'s `calibrate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Calibration {
    /// A typical relaxed face: the person has not calibrated.
    Typical,
    /// A calibration is collecting frames.
    Calibrating,
    /// The person's own neutral face.
    Personal,
}

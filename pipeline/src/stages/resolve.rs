//! Checks a pipeline's meta contracts before anything is built (as GStreamer negotiates caps at link
//! time): every stage's needs (for its options) must come from a stage before it, and a sink's
//! needs from some stage. [`resolve`] adds `track` first when faces are missing (it is the one
//! provider that needs no choice from the user) and says so; any other missing meta is an error
//! naming the stage to add.

use super::find;
use crate::error::{Error, Result};
use crate::options::StageOptions;
use crate::spec::StageSpec;
use crate::stage::{Contract, MetaSet};

/// A pipeline after [`resolve`]: the stages to build and what was changed, one line each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub specs: Vec<StageSpec>,
    pub notices: Vec<String>,
}

/// The stage [`resolve`] adds for missing faces.
const FACE_PROVIDER: &str = "track";

/// Resolves `specs` for sinks with needs `sinks` (`("the VMC sink", MetaSet::FACES)`): adds `track`
/// first when a stage or sink needs faces that no stage before it provides, with a notice.
///
/// # Errors
/// [`Error::Spec`]/[`Error::Option`] for unknown stages or bad options; [`Error::Contract`] naming
/// the stage to add for any other missing meta.
pub fn resolve(specs: &[StageSpec], sinks: &[(&str, MetaSet)]) -> Result<Resolved> {
    match first_missing(specs, sinks)? {
        None => Ok(Resolved {
            specs: specs.to_vec(),
            notices: Vec::new(),
        }),
        Some(missing) if !missing.any && missing.meta.intersects(MetaSet::FACES) => {
            let mut with_track = vec![StageSpec {
                name: FACE_PROVIDER.to_string(),
                options: Vec::new(),
            }];
            with_track.extend_from_slice(specs);
            // What remains missing with `track` in place is an error.
            check(&with_track, sinks)?;
            Ok(Resolved {
                specs: with_track,
                notices: vec![format!(
                    "added the '{FACE_PROVIDER}' stage first: {} needs faces",
                    missing.who
                )],
            })
        }
        Some(missing) => Err(missing.error()),
    }
}

/// Checks `specs` and `sinks` as they are (see [`resolve`], which adds `track` instead).
///
/// # Errors
/// As [`resolve`]; missing faces too, naming `track`.
pub fn check(specs: &[StageSpec], sinks: &[(&str, MetaSet)]) -> Result<()> {
    match first_missing(specs, sinks)? {
        None => Ok(()),
        Some(missing) => Err(missing.error()),
    }
}

/// Meta that `who` needs and nothing before it provides.
struct Missing {
    who: String,
    meta: MetaSet,
    /// Any one of `meta` would do (a stage that draws whatever it finds).
    any: bool,
}

impl Missing {
    fn error(&self) -> Error {
        let parts: Vec<(MetaSet, &str, &str)> = self.meta.parts().collect();
        let what: Vec<&str> = parts.iter().map(|p| p.1).collect();
        let providers: Vec<&str> = parts.iter().map(|p| p.2).collect();
        let (what, providers) = if self.any {
            (what.join(" or "), providers.join(", "))
        } else {
            (what.join(" and "), providers.join(" and "))
        };
        let some = if self.any && parts.len() > 1 {
            "one of "
        } else {
            ""
        };
        Error::Contract(format!(
            "{} needs {what}, which no stage before it provides; put {some}{providers} before it",
            self.who
        ))
    }
}

/// `name` or `name:key=value:…`, as the user wrote the stage.
fn describe(spec: &StageSpec) -> String {
    let mut text = format!("stage '{}", spec.name);
    for (key, value) in &spec.options {
        text.push_str(&format!(":{key}={value}"));
    }
    text.push('\'');
    text
}

fn first_missing(specs: &[StageSpec], sinks: &[(&str, MetaSet)]) -> Result<Option<Missing>> {
    let mut available = MetaSet::NONE;
    for spec in specs {
        let entry = find(&spec.name)?;
        let options = StageOptions::new(entry.doc, &spec.options)?;
        let contract: Contract = (entry.doc.contract)(&options)?;
        let missing = contract.needs.without(available);
        if !missing.is_empty() {
            return Ok(Some(Missing {
                who: describe(spec),
                meta: missing,
                any: false,
            }));
        }
        if !contract.needs_any.is_empty() && !contract.needs_any.intersects(available) {
            return Ok(Some(Missing {
                who: describe(spec),
                meta: contract.needs_any,
                any: true,
            }));
        }
        available = available | contract.provides;
    }
    for (sink, needs) in sinks {
        let missing = needs.without(available);
        if !missing.is_empty() {
            return Ok(Some(Missing {
                who: (*sink).to_string(),
                meta: missing,
                any: false,
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_stages;

    fn names(specs: &[StageSpec]) -> Vec<&str> {
        specs.iter().map(|s| s.name.as_str()).collect()
    }

    fn resolved(text: &str, sinks: &[(&str, MetaSet)]) -> Result<Resolved> {
        resolve(&parse_stages(text).unwrap(), sinks)
    }

    #[test]
    fn avatar_alone_gets_track_first_with_one_notice() {
        let got = resolved("avatar:smooth=0.5", &[]).unwrap();
        assert_eq!(names(&got.specs), ["track", "avatar"]);
        assert_eq!(
            got.notices,
            ["added the 'track' stage first: stage 'avatar:smooth=0.5' needs faces"]
        );
        // Without resolution the same pipeline is refused, naming the stage to add.
        let err = check(&parse_stages("avatar").unwrap(), &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "pipeline: stage 'avatar' needs faces, which no stage before it provides; put track before it"
        );
    }

    #[test]
    fn complete_pipelines_are_left_alone() {
        for text in [
            "track,avatar",
            "resize:width=64,track,blur,avatar",
            "blur",
            "",
        ] {
            let got = resolved(text, &[]).unwrap();
            assert_eq!(got.specs, parse_stages(text).unwrap(), "{text}");
            assert!(got.notices.is_empty(), "{text}");
        }
        let got = resolved("track,segment,avatar:background=mask", &[]).unwrap();
        assert!(got.notices.is_empty());
    }

    #[test]
    fn a_sink_that_needs_faces_gets_track() {
        let got = resolved("", &[("the VMC sink", MetaSet::FACES)]).unwrap();
        assert_eq!(names(&got.specs), ["track"]);
        assert_eq!(
            got.notices,
            ["added the 'track' stage first: the VMC sink needs faces"]
        );
        let got = resolved("blur", &[("the VMC sink", MetaSet::FACES)]).unwrap();
        assert_eq!(names(&got.specs), ["track", "blur"]);
        let got = resolved("track", &[("the VMC sink", MetaSet::FACES)]).unwrap();
        assert!(got.notices.is_empty());
    }

    #[test]
    fn a_missing_mask_names_segment_and_the_option() {
        let err = resolved("track,avatar:background=mask", &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "pipeline: stage 'avatar:background=mask' needs the person mask, which no stage before it \
             provides; put segment before it"
        );
        // track is added for the faces, and the mask is still reported.
        let err = resolved("avatar:background=mask:#00ff00", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("put segment before it"), "{err}");
        // segment after the avatar does not count.
        assert!(resolved("track,avatar:background=mask,segment", &[]).is_err());
        // Other backdrops do not need it.
        assert!(resolved("avatar:background=blur", &[]).is_ok());
    }

    #[test]
    fn overlay_needs_something_to_draw() {
        let err = resolved("overlay", &[]).unwrap_err().to_string();
        assert_eq!(
            err,
            "pipeline: stage 'overlay' needs faces or bodies or the person mask or hands, which no \
             stage before it provides; put one of track, pose, segment, hands before it"
        );
        assert!(resolved("segment,overlay", &[]).is_ok());
        assert!(resolved("pose,overlay:mask=false", &[]).is_ok());
        assert!(resolved("hands,overlay", &[]).is_ok());
        // With only the mask layer on, only segment will do.
        let err = resolved(
            "track,overlay:body=false:hands=false:mesh=false:box=false:keypoints=false:axes=false",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("needs the person mask, which") && err.contains("put segment before it"),
            "{err}"
        );
    }

    #[test]
    fn bad_stages_and_options_are_reported_first() {
        let err = resolved("avatar:smooth=2", &[]).unwrap_err().to_string();
        assert!(
            err.contains("'smooth'") && err.contains("0 to 0.95"),
            "{err}"
        );
        let err = resolved("nosuch", &[]).unwrap_err().to_string();
        assert!(err.contains("unknown stage 'nosuch'"), "{err}");
    }
}

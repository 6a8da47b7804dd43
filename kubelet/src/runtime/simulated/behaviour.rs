//! The steering annotations (`sim.keelson.io/…`), parsed once per sandbox and resolved per
//! container; and the probe answers they imply. Pure.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use keelson_client::duration::parse_go_duration;

use crate::runtime::{ProbeKind, ProbeOutcome};

/// Every steering annotation starts with this.
pub(crate) const PREFIX: &str = "sim.keelson.io/";

/// The key `pull_image` reads (plain only).
pub(crate) const IMAGE_PULL_ERROR: &str = "image-pull-error";

/// The steering of one scope (the pod, or one container): each field set by an annotation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Knobs {
    pub(crate) exit_after: Option<Duration>,
    pub(crate) exit_code: Option<i32>,
    pub(crate) ready_after: Option<Duration>,
    pub(crate) readiness_fail_after: Option<Duration>,
    pub(crate) liveness_fail_after: Option<Duration>,
    pub(crate) startup_after: Option<Duration>,
    pub(crate) start_error: Option<Arc<str>>,
    pub(crate) termination_delay: Option<Duration>,
}

impl Knobs {
    /// `self`'s fields, falling back to `pod`'s.
    fn over(&self, pod: &Knobs) -> Knobs {
        Knobs {
            exit_after: self.exit_after.or(pod.exit_after),
            exit_code: self.exit_code.or(pod.exit_code),
            ready_after: self.ready_after.or(pod.ready_after),
            readiness_fail_after: self.readiness_fail_after.or(pod.readiness_fail_after),
            liveness_fail_after: self.liveness_fail_after.or(pod.liveness_fail_after),
            startup_after: self.startup_after.or(pod.startup_after),
            start_error: self.start_error.clone().or(pod.start_error.clone()),
            termination_delay: self.termination_delay.or(pod.termination_delay),
        }
    }

    /// Sets the field `field` from `value`; `Err` with why when either is not understood.
    fn set(&mut self, field: &str, value: &str) -> Result<(), String> {
        let duration = || parse_go_duration(value.trim()).ok_or("not a Go duration");
        match field {
            "exit-after" => self.exit_after = Some(duration()?),
            "exit-code" => {
                self.exit_code = Some(value.trim().parse().map_err(|_| "not an integer")?);
            }
            "ready-after" => self.ready_after = Some(duration()?),
            "readiness-fail-after" => self.readiness_fail_after = Some(duration()?),
            "liveness-fail-after" => self.liveness_fail_after = Some(duration()?),
            "startup-after" => self.startup_after = Some(duration()?),
            "start-error" => self.start_error = Some(value.into()),
            "termination-delay" => self.termination_delay = Some(duration()?),
            _ => return Err("unknown key".to_owned()),
        }
        Ok(())
    }
}

/// A pod's steering: the plain keys, and the keys suffixed `.<container>`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Steering {
    pod: Knobs,
    containers: Vec<(Box<str>, Knobs)>,
}

impl Steering {
    /// Reads the `sim.keelson.io/` annotations. `None` when there are none that apply;
    /// every key that is not understood is ignored and listed (key, why) in the second value.
    pub(crate) fn parse(
        annotations: &BTreeMap<String, String>,
    ) -> (Option<Steering>, Vec<(String, String)>) {
        let mut steering = Steering::default();
        let mut problems = Vec::new();
        let mut any = false;
        for (key, value) in annotations {
            let Some(rest) = key.strip_prefix(PREFIX) else {
                continue;
            };
            let (field, container) = match rest.split_once('.') {
                Some((field, container)) => (field, Some(container)),
                None => (rest, None),
            };
            let knobs = match (field, container) {
                // Read by `pull_image` itself, which is not told the container.
                (IMAGE_PULL_ERROR, None) => continue,
                (IMAGE_PULL_ERROR, Some(_)) => {
                    let why = "applies to the whole pod only (an image pull names no container)";
                    problems.push((key.clone(), why.to_owned()));
                    continue;
                }
                (_, None) => &mut steering.pod,
                (_, Some(name)) => steering.knobs_of(name),
            };
            match knobs.set(field, value) {
                Ok(()) => any = true,
                Err(why) => problems.push((key.clone(), format!("{why}: {value:?}"))),
            }
        }
        (any.then_some(steering), problems)
    }

    fn knobs_of(&mut self, name: &str) -> &mut Knobs {
        let at = match self.containers.iter().position(|(n, _)| &**n == name) {
            Some(at) => at,
            None => {
                self.containers.push((name.into(), Knobs::default()));
                self.containers.len() - 1
            }
        };
        &mut self.containers[at].1
    }

    /// What applies to the container `name`: its suffixed keys, then the plain ones.
    pub(crate) fn resolve(steering: Option<&Steering>, name: &str) -> Knobs {
        let Some(steering) = steering else {
            return Knobs::default();
        };
        match steering.containers.iter().find(|(n, _)| &**n == name) {
            Some((_, own)) => own.over(&steering.pod),
            None => steering.pod.clone(),
        }
    }
}

/// When a container exits by itself after it started: `exit-after`, or at once for an
/// init container; never for others.
pub(crate) fn exit_after(knobs: &Knobs, init: bool) -> Option<Duration> {
    knobs.exit_after.or(init.then_some(Duration::ZERO))
}

/// How a running container told to stop within `timeout` goes: after how long, with which
/// exit code. It ignores SIGTERM for `termination-delay`: exits 0 then if that is before the
/// timeout, else is killed at the timeout (137). Without a delay it exits at once with 0.
pub(crate) fn stop_plan(delay: Option<Duration>, timeout: Duration) -> (Duration, i32) {
    match delay.filter(|d| !d.is_zero()) {
        None => (Duration::ZERO, 0),
        Some(delay) if delay < timeout => (delay, 0),
        Some(_) => (timeout, 137),
    }
}

/// `Completed` for 0, `Error` otherwise (as containerd reports an exit).
pub(crate) fn exit_reason(code: i32) -> &'static str {
    if code == 0 { "Completed" } else { "Error" }
}

/// What a running container answers a probe `since_start` after it started.
pub(crate) fn probe(knobs: &Knobs, kind: ProbeKind, since_start: Duration) -> ProbeOutcome {
    let failure = |key: &str, what: &str, at: Duration| {
        ProbeOutcome::Failure(format!(
            "simulated {what} ({PREFIX}{key} is {at:?}, started {since_start:?} ago)"
        ))
    };
    match kind {
        ProbeKind::Readiness => {
            if let Some(at) = knobs.ready_after.filter(|at| since_start < *at) {
                return failure("ready-after", "container not ready yet", at);
            }
            if let Some(at) = knobs.readiness_fail_after.filter(|at| since_start >= *at) {
                return failure("readiness-fail-after", "readiness failure", at);
            }
        }
        ProbeKind::Liveness => {
            if let Some(at) = knobs.liveness_fail_after.filter(|at| since_start >= *at) {
                return failure("liveness-fail-after", "liveness failure", at);
            }
        }
        ProbeKind::Startup => {
            if let Some(at) = knobs.startup_after.filter(|at| since_start < *at) {
                return failure("startup-after", "container not started yet", at);
            }
        }
    }
    ProbeOutcome::Success
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (format!("{PREFIX}{k}"), (*v).to_owned()))
            .collect()
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn parses_every_key() {
        let (steering, problems) = Steering::parse(&annotations(&[
            ("exit-after", "1m30s"),
            ("exit-code", "3"),
            ("ready-after", "5s"),
            ("readiness-fail-after", "1h"),
            ("liveness-fail-after", "20s"),
            ("startup-after", "250ms"),
            ("image-pull-error", "manifest unknown"),
            ("start-error", "exec: not found"),
            ("termination-delay", "7s"),
        ]));
        assert!(problems.is_empty(), "{problems:?}");
        let knobs = Steering::resolve(steering.as_ref(), "any");
        assert_eq!(
            knobs,
            Knobs {
                exit_after: Some(secs(90)),
                exit_code: Some(3),
                ready_after: Some(secs(5)),
                readiness_fail_after: Some(secs(3600)),
                liveness_fail_after: Some(secs(20)),
                startup_after: Some(Duration::from_millis(250)),
                start_error: Some("exec: not found".into()),
                termination_delay: Some(secs(7)),
            }
        );
    }

    #[test]
    fn suffixed_key_beats_plain_key_for_its_container_only() {
        let mut pod = annotations(&[
            ("exit-code", "1"),
            ("exit-code.web", "2"),
            ("exit-after", "10s"),
            ("ready-after.sidecar", "3s"),
        ]);
        pod.insert("other.io/exit-code".to_owned(), "9".to_owned());
        let (steering, problems) = Steering::parse(&pod);
        assert!(problems.is_empty());
        let cases = [
            ("web", Some(2), Some(secs(10)), None),
            ("sidecar", Some(1), Some(secs(10)), Some(secs(3))),
            ("other", Some(1), Some(secs(10)), None),
        ];
        for (name, code, exit_after, ready_after) in cases {
            let knobs = Steering::resolve(steering.as_ref(), name);
            assert_eq!(knobs.exit_code, code, "{name}");
            assert_eq!(knobs.exit_after, exit_after, "{name}");
            assert_eq!(knobs.ready_after, ready_after, "{name}");
        }
    }

    #[test]
    fn bad_values_and_unknown_keys_are_ignored_and_reported() {
        let (steering, problems) = Steering::parse(&annotations(&[
            ("exit-after", "soon"),
            ("exit-code", "one"),
            ("exit-code.web", "4"),
            ("ready-after", "-5s"),
            ("colour", "blue"),
            ("image-pull-error.web", "nope"),
        ]));
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "sim.keelson.io/colour",
                "sim.keelson.io/exit-after",
                "sim.keelson.io/exit-code",
                "sim.keelson.io/image-pull-error.web",
                "sim.keelson.io/ready-after",
            ]
        );
        let plain = Steering::resolve(steering.as_ref(), "app");
        assert_eq!(plain, Knobs::default());
        assert_eq!(
            Steering::resolve(steering.as_ref(), "web").exit_code,
            Some(4)
        );
    }

    #[test]
    fn no_steering_without_annotations() {
        let mut pod = BTreeMap::new();
        pod.insert("app".to_owned(), "x".to_owned());
        assert_eq!(Steering::parse(&pod), (None, vec![]));
        assert_eq!(Steering::resolve(None, "app"), Knobs::default());
    }

    #[test]
    fn init_containers_exit_at_once_by_default() {
        let none = Knobs::default();
        let later = Knobs {
            exit_after: Some(secs(4)),
            ..Knobs::default()
        };
        assert_eq!(exit_after(&none, false), None);
        assert_eq!(exit_after(&none, true), Some(Duration::ZERO));
        assert_eq!(exit_after(&later, true), Some(secs(4)));
        assert_eq!(exit_after(&later, false), Some(secs(4)));
        assert_eq!(exit_reason(0), "Completed");
        assert_eq!(exit_reason(1), "Error");
        assert_eq!(exit_reason(137), "Error");
    }

    #[test]
    fn stopping_honours_the_termination_delay() {
        let cases = [
            (None, 30, (0, 0)),
            (Some(0), 30, (0, 0)),
            (Some(5), 30, (5, 0)),
            (Some(30), 30, (30, 137)),
            (Some(60), 30, (30, 137)),
            (Some(5), 0, (0, 137)),
            (None, 0, (0, 0)),
        ];
        for (delay, timeout, (after, code)) in cases {
            assert_eq!(
                stop_plan(delay.map(secs), secs(timeout)),
                (secs(after), code),
                "delay {delay:?}, timeout {timeout}"
            );
        }
    }

    #[test]
    fn probes_follow_the_knobs_over_time() {
        let knobs = Knobs {
            ready_after: Some(secs(5)),
            readiness_fail_after: Some(secs(60)),
            liveness_fail_after: Some(secs(30)),
            startup_after: Some(secs(10)),
            ..Knobs::default()
        };
        use ProbeKind::*;
        let cases = [
            (Readiness, 0, false),
            (Readiness, 4, false),
            (Readiness, 5, true),
            (Readiness, 59, true),
            (Readiness, 60, false),
            (Liveness, 0, true),
            (Liveness, 29, true),
            (Liveness, 30, false),
            (Liveness, 1000, false),
            (Startup, 0, false),
            (Startup, 9, false),
            (Startup, 10, true),
            (Startup, 1000, true),
        ];
        for (kind, at, passes) in cases {
            let outcome = probe(&knobs, kind, secs(at));
            assert_eq!(
                outcome == ProbeOutcome::Success,
                passes,
                "{kind:?} at {at}s: {outcome:?}"
            );
        }
        for kind in [Readiness, Liveness, Startup] {
            assert_eq!(
                probe(&Knobs::default(), kind, secs(0)),
                ProbeOutcome::Success
            );
        }
        let ProbeOutcome::Failure(why) = probe(&knobs, Readiness, secs(2)) else {
            panic!("readiness passed before ready-after");
        };
        assert!(why.contains("sim.keelson.io/ready-after"), "{why}");
    }
}

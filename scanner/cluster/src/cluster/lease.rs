//! The Lease (`coordination.k8s.io/v1`) that keeps two scans recording to
//! one run record from overlapping: two scans writing reports at once
//! leave reports of both runs under one record that says complete.
//!
//! Without I/O: the Lease as read (or none), this scan's holder identity
//! and the time enter [`decide`]; what to do leaves (create it, take it —
//! free, ours, or expired — or wait for its holder). With I/O: [`acquire`]
//! reads and writes the Lease on its resourceVersion (a writer in between
//! makes the write fail with 409, and the decision is made again), waiting
//! up to a timeout; the [`HeldLease`] it gives renews the Lease while the
//! scan runs, says when it was lost, and releases it (deletes it, on the
//! resourceVersion it last wrote).
//!
//! Expiry does not trust clocks to agree: a Lease is taken over when this
//! scan has seen it unchanged (one resourceVersion) for its whole duration
//! by its own clock, as client-go's leader election does — a live holder
//! renews it every 20 s — or at once when its `renewTime` (the holder's
//! clock) is over [`SKEW_MARGIN_SECONDS`] past its expiry by this scan's
//! clock: only a clock that far ahead would take a live Lease over.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use kube::api::{DeleteParams, PostParams, Preconditions};
use kube::Client;
use polscan_engine::ValueExt;
use serde_json::{json, Value};
use tokio::sync::watch;

use super::{absent_if_not_found, send, ClusterError};

/// How long a Lease holds without a renewal: a scan killed without
/// releasing it (SIGKILL, a lost node) blocks the next scan this long.
pub const LEASE_DURATION_SECONDS: i64 = 60;

/// How far past its expiry, by this scan's clock, a Lease's `renewTime`
/// must be for it to be taken over without waiting out its duration.
pub const SKEW_MARGIN_SECONDS: i64 = 300;

/// A Lease as this scan first saw it in its current state, by its own
/// clock ([`decide`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The resourceVersion seen: any write (a renewal) changes it.
    pub resource_version: String,
    /// When it was first seen, by this scan's clock.
    pub since: DateTime<Utc>,
}

/// How often a held Lease is renewed: three renewals per duration, so one
/// or two failed ones (an API server restarting) do not lose it.
const RENEW_EVERY: Duration = Duration::from_secs(20);

/// How often a scan waiting for a held Lease reads it again.
const POLL_EVERY: Duration = Duration::from_secs(2);

/// The Lease of the run record `record_name` (a shard's record name gives
/// the shard's own Lease: the shards of one run scan at once, each its own
/// part of the cluster).
pub fn lease_name(record_name: &str) -> String {
    format!("{record_name}-lock")
}

/// Who holds a Lease, as it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// `spec.holderIdentity`.
    pub identity: String,
    /// `spec.acquireTime`, when readable.
    pub acquired: Option<DateTime<Utc>>,
    /// `spec.renewTime`, when readable.
    pub renewed: Option<DateTime<Utc>>,
    /// When it expires without a renewal: the renewal (or acquisition)
    /// plus `spec.leaseDurationSeconds`. None when those cannot be read:
    /// such a Lease never expires by itself.
    pub expires: Option<DateTime<Utc>>,
}

impl Holder {
    /// `<identity> since <acquired> (renewed <renewed>)`, for messages.
    pub fn describe(&self) -> String {
        let time = |t: Option<DateTime<Utc>>| {
            t.map_or_else(
                || "an unrecorded time".to_string(),
                |t| t.to_rfc3339_opts(SecondsFormat::Secs, true),
            )
        };
        format!(
            "{} since {} (last renewed {})",
            self.identity,
            time(self.acquired),
            time(self.renewed)
        )
    }
}

/// What to do about the Lease as read ([`decide`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// There is none: create it.
    Create,
    /// Write ours over it on its resourceVersion: it is free (no holder:
    /// released), already this scan's, or expired.
    Take {
        /// The resourceVersion read.
        resource_version: String,
        /// The holder whose Lease expired (it stopped without releasing
        /// it); None when it was free or ours.
        expired: Option<Holder>,
    },
    /// Another scan holds it and it has not expired: wait.
    Wait {
        /// Who holds it.
        holder: Holder,
    },
}

/// What to do about `lease` (None: there is none) for the scan `me` at
/// `now`, having seen it unchanged since `observed` (None: not yet). A
/// Lease held by another is taken over only once expired by both clocks
/// (see the module's header); one whose expiry cannot be read, or without
/// a resourceVersion to write on, is waited for: taking it could run two
/// scans at once.
pub fn decide(
    lease: Option<&Value>,
    me: &str,
    now: DateTime<Utc>,
    observed: Option<&Observation>,
) -> Decision {
    let Some(lease) = lease else {
        return Decision::Create;
    };
    let holder = holder_of(lease);
    let resource_version = lease
        .str_at("/metadata/resourceVersion")
        .map(str::to_string);
    match (holder, resource_version) {
        (None, Some(resource_version)) => Decision::Take {
            resource_version,
            expired: None,
        },
        (Some(holder), Some(resource_version)) if holder.identity == me => Decision::Take {
            resource_version,
            expired: None,
        },
        (Some(holder), Some(resource_version))
            if expired_by_both_clocks(&holder, &resource_version, now, observed) =>
        {
            Decision::Take {
                resource_version,
                expired: Some(holder),
            }
        }
        (Some(holder), _) => Decision::Wait { holder },
        (None, None) => Decision::Wait {
            holder: Holder {
                identity: "nobody (a Lease without a resourceVersion)".into(),
                acquired: None,
                renewed: None,
                expires: None,
            },
        },
    }
}

/// Whether `holder`'s Lease expired, by its clock and by ours: past its
/// expiry, and either seen unchanged for its whole duration or past it by
/// more than [`SKEW_MARGIN_SECONDS`].
fn expired_by_both_clocks(
    holder: &Holder,
    resource_version: &str,
    now: DateTime<Utc>,
    observed: Option<&Observation>,
) -> bool {
    let (Some(expires), Some(written)) = (holder.expires, holder.renewed.or(holder.acquired))
    else {
        return false;
    };
    if expires > now {
        return false;
    }
    let long_ago = chrono::Duration::try_seconds(SKEW_MARGIN_SECONDS)
        .and_then(|margin| expires.checked_add_signed(margin))
        .is_some_and(|late| late <= now);
    let unchanged = observed.is_some_and(|seen| {
        seen.resource_version == resource_version && now - seen.since >= expires - written
    });
    long_ago || unchanged
}

/// The holder a Lease names; None when it names none (released).
fn holder_of(lease: &Value) -> Option<Holder> {
    let identity = lease
        .str_at("/spec/holderIdentity")
        .filter(|id| !id.is_empty())?;
    let time = |pointer: &str| {
        lease
            .str_at(pointer)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let acquired = time("/spec/acquireTime");
    let renewed = time("/spec/renewTime");
    let duration = lease
        .pointer("/spec/leaseDurationSeconds")
        .and_then(Value::as_i64)
        .and_then(chrono::Duration::try_seconds);
    let expires = match (renewed.or(acquired), duration) {
        (Some(at), Some(duration)) => at.checked_add_signed(duration),
        _ => None,
    };
    Some(Holder {
        identity: identity.to_string(),
        acquired,
        renewed,
        expires,
    })
}

/// The Lease `me` writes at `now` over `previous` (None: creating it): its
/// acquisition time kept when it already held it, the transitions counted
/// when the holder changes, on `previous`'s resourceVersion.
pub fn lease_object(
    namespace: &str,
    name: &str,
    me: &str,
    now: DateTime<Utc>,
    previous: Option<&Value>,
) -> Value {
    let time = now.to_rfc3339_opts(SecondsFormat::Micros, true);
    let previous_holder = previous.and_then(|p| p.str_at("/spec/holderIdentity"));
    let ours_already = previous_holder == Some(me);
    let transitions = previous
        .and_then(|p| p.pointer("/spec/leaseTransitions"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .saturating_add(i64::from(previous.is_some() && !ours_already));
    let acquired = match previous.and_then(|p| p.str_at("/spec/acquireTime")) {
        Some(acquired) if ours_already => acquired.to_string(),
        _ => time.clone(),
    };
    let mut lease = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "polscan"},
        },
        "spec": {
            "holderIdentity": me,
            "leaseDurationSeconds": LEASE_DURATION_SECONDS,
            "acquireTime": acquired,
            "renewTime": time,
            "leaseTransitions": transitions,
        },
    });
    if let Some(version) = previous.and_then(|p| p.str_at("/metadata/resourceVersion")) {
        lease["metadata"]["resourceVersion"] = json!(version);
    }
    lease
}

/// Why no Lease was acquired.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Reading or writing the Lease failed (a 403: no right to leases).
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// Another scan held it for all of the time given.
    #[error("Lease {lease} is held by {}, another scan recording to the same run record: waited {}s for it", holder.describe(), waited.as_secs())]
    Held {
        /// `namespace/name` of the Lease.
        lease: String,
        /// Who held it last.
        holder: Holder,
        /// How long this scan waited.
        waited: Duration,
    },
}

fn collection(namespace: &str) -> String {
    format!("/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases")
}

/// Creates (`previous` None) or replaces the Lease with `me`'s.
async fn write(
    client: &Client,
    namespace: &str,
    name: &str,
    me: &str,
    previous: Option<&Value>,
) -> Result<Value, ClusterError> {
    let lease = lease_object(namespace, name, me, Utc::now(), previous);
    let body = serde_json::to_vec(&lease).unwrap_or_default();
    let request = kube::core::Request::new(collection(namespace));
    match previous {
        None => {
            send(
                client,
                format!("creating Lease {namespace}/{name}"),
                request.create(&PostParams::default(), body),
            )
            .await
        }
        Some(_) => {
            send(
                client,
                format!("updating Lease {namespace}/{name}"),
                request.replace(name, &PostParams::default(), body),
            )
            .await
        }
    }
}

/// What a scan that waits for the Lease `lease` held by `holder` is told:
/// how long it waits, which is the lock timeout unless `deadline_left`
/// (the caller's own deadline, which ends the wait too) comes first.
pub fn waiting_note(
    lease: &str,
    holder: &str,
    timeout: Duration,
    deadline_left: Option<Duration>,
) -> String {
    let wait = match deadline_left.filter(|left| *left < timeout) {
        Some(left) => format!(
            "{}s for it (the scan's --timeout ends the wait before --lock-timeout's {}s)",
            left.as_secs(),
            timeout.as_secs()
        ),
        None => format!("{}s for it", timeout.as_secs()),
    };
    format!("Lease {lease} is held by {holder}: another scan recording to the same run record is running; waiting up to {wait}")
}

/// Acquires the Lease `namespace/name` for `me`: creates it, takes it when
/// free or expired, or waits while another holds it, reading it every few
/// seconds for up to `timeout`. `notify` is told when it waits (with
/// `deadline_left`, the caller's deadline, when that ends the wait first)
/// and when it takes an expired Lease over. Must run in a Tokio runtime:
/// the renewal runs as a task.
pub async fn acquire(
    client: &Client,
    namespace: &str,
    name: &str,
    me: &str,
    (timeout, deadline_left): (Duration, Option<Duration>),
    notify: &mut (dyn FnMut(String) + Send),
) -> Result<HeldLease, LeaseError> {
    let started = tokio::time::Instant::now();
    let mut said_waiting = false;
    let mut observed: Option<Observation> = None;
    loop {
        let current = absent_if_not_found(super::get(client, &collection(namespace), name).await)?;
        let now = Utc::now();
        let resource_version = current
            .as_ref()
            .and_then(|lease| lease.str_at("/metadata/resourceVersion"));
        if resource_version != observed.as_ref().map(|o| o.resource_version.as_str()) {
            observed = resource_version.map(|rv| Observation {
                resource_version: rv.to_string(),
                since: now,
            });
        }
        let (previous, expired) = match decide(current.as_ref(), me, now, observed.as_ref()) {
            Decision::Create => (None, None),
            Decision::Take { expired, .. } => (current.as_ref(), expired),
            Decision::Wait { holder } => {
                let waited = started.elapsed();
                if waited >= timeout {
                    return Err(LeaseError::Held {
                        lease: format!("{namespace}/{name}"),
                        holder,
                        waited,
                    });
                }
                if !said_waiting {
                    said_waiting = true;
                    notify(waiting_note(
                        &format!("{namespace}/{name}"),
                        &holder.describe(),
                        timeout,
                        deadline_left.map(|left| left.saturating_sub(waited)),
                    ));
                }
                tokio::time::sleep(POLL_EVERY.min(timeout - waited)).await;
                continue;
            }
        };
        match write(client, namespace, name, me, previous).await {
            Ok(lease) => {
                if let Some(holder) = expired {
                    notify(format!(
                        "Lease {namespace}/{name} of {} expired at {} without being released (its scan stopped without finishing): taken over",
                        holder.describe(),
                        holder
                            .expires
                            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                            .unwrap_or_default()
                    ));
                }
                return Ok(HeldLease::start(client, namespace, name, me, lease));
            }
            // Another writer came in between: read it again.
            Err(err) if err.code() == Some(409) => continue,
            Err(err) => return Err(err.into()),
        }
    }
}

/// The Lease as this scan holds it.
#[derive(Debug, Clone)]
enum State {
    /// Held: the Lease as last written.
    Held(Value),
    /// Lost, and why.
    Lost(String),
}

/// A Lease this scan holds, renewed by a task until [`HeldLease::release`].
pub struct HeldLease {
    client: Client,
    namespace: String,
    name: String,
    me: String,
    state: watch::Receiver<State>,
    renewer: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for HeldLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HeldLease({}/{} as {})",
            self.namespace, self.name, self.me
        )
    }
}

impl HeldLease {
    /// `namespace/name` of the Lease.
    pub fn lease(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    fn start(client: &Client, namespace: &str, name: &str, me: &str, lease: Value) -> HeldLease {
        let (sender, state) = watch::channel(State::Held(lease));
        let renewer = tokio::spawn(renew(
            client.clone(),
            namespace.to_string(),
            name.to_string(),
            me.to_string(),
            sender,
        ));
        HeldLease {
            client: client.clone(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            me: me.to_string(),
            state,
            renewer,
        }
    }

    /// Resolves when the Lease is lost (taken over, or not renewed in
    /// time), with why; never while it is held.
    pub async fn lost(&mut self) -> String {
        match self
            .state
            .wait_for(|state| matches!(state, State::Lost(_)))
            .await
        {
            Ok(state) => match &*state {
                State::Lost(why) => why.clone(),
                State::Held(_) => String::new(),
            },
            // The renewal stopped without saying so: no longer held.
            Err(_) => format!(
                "Lease {}/{}: its renewal stopped",
                self.namespace, self.name
            ),
        }
    }

    /// Stops renewing and deletes the Lease, on the resourceVersion last
    /// written (a Lease taken over meanwhile is not ours to delete).
    pub async fn release(self) -> Result<(), ClusterError> {
        self.renewer.abort();
        let _ = self.renewer.await;
        let mut current = match &*self.state.borrow() {
            State::Held(lease) => Some(lease.clone()),
            State::Lost(_) => None,
        };
        // Twice at most: a renewal cut short may have written a newer
        // version than the one recorded.
        for _ in 0..2 {
            let Some(lease) = current.take() else {
                return Ok(());
            };
            if holder_of(&lease).map(|h| h.identity) != Some(self.me.clone()) {
                return Ok(());
            }
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    resource_version: lease.str_at("/metadata/resourceVersion").map(Into::into),
                    uid: lease.str_at("/metadata/uid").map(Into::into),
                }),
                ..DeleteParams::default()
            };
            let deleted = send::<Value>(
                &self.client,
                format!("deleting Lease {}/{}", self.namespace, self.name),
                kube::core::Request::new(collection(&self.namespace)).delete(&self.name, &params),
            )
            .await;
            match deleted {
                Ok(_) => return Ok(()),
                Err(err) if err.code() == Some(404) => return Ok(()),
                Err(err) if err.code() == Some(409) => {
                    current = absent_if_not_found(
                        super::get(&self.client, &collection(&self.namespace), &self.name).await,
                    )?;
                }
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }
}

/// Renews the Lease every [`RENEW_EVERY`] until it is lost: taken over by
/// another holder, or not renewed for [`LEASE_DURATION_SECONDS`] (another
/// scan may have taken it as expired).
async fn renew(
    client: Client,
    namespace: String,
    name: String,
    me: String,
    state: watch::Sender<State>,
) {
    let lost = |why: String| {
        state.send_replace(State::Lost(why));
    };
    let mut renewed = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let previous = match &*state.borrow() {
            State::Held(lease) => lease.clone(),
            State::Lost(_) => return,
        };
        // What this renewal met, said when the Lease is given up (walk39
        // F9: an API server killed read as "another scan may have taken it").
        let failure = match write(&client, &namespace, &name, &me, Some(&previous)).await {
            Ok(lease) => {
                renewed = tokio::time::Instant::now();
                state.send_replace(State::Held(lease));
                continue;
            }
            Err(err) if err.code() == Some(409) || err.code() == Some(404) => {
                // Changed or deleted meanwhile: still ours only if it
                // still names this scan.
                let current =
                    absent_if_not_found(super::get(&client, &collection(&namespace), &name).await);
                match current {
                    Ok(Some(current)) if holder_of(&current).is_some_and(|h| h.identity == me) => {
                        state.send_replace(State::Held(current));
                        continue;
                    }
                    Ok(current) => {
                        let by = current.as_ref().and_then(holder_of).map_or_else(
                            || "nobody (deleted or released)".into(),
                            |h| h.describe(),
                        );
                        lost(format!(
                            "Lease {namespace}/{name} was taken over while this scan ran: it is held by {by}"
                        ));
                        return;
                    }
                    Err(err) => err.to_string(),
                }
            }
            Err(err) => err.to_string(),
        };
        if renewed.elapsed() >= Duration::from_secs(LEASE_DURATION_SECONDS.unsigned_abs()) {
            lost(not_renewed(&namespace, &name, Some(&failure)));
            return;
        }
    }
}

/// Why a Lease not renewed for [`LEASE_DURATION_SECONDS`] is given up:
/// what the last renewal met first (the API server not answering, say),
/// then that another scan may have taken it as expired meanwhile.
fn not_renewed(namespace: &str, name: &str, last_failure: Option<&str>) -> String {
    let cause = last_failure.map_or_else(String::new, |failure| format!(" (last: {failure})"));
    format!(
        "Lease {namespace}/{name} could not be renewed for {LEASE_DURATION_SECONDS}s{cause}; another scan may since have taken it over as expired"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_given_up_says_what_its_renewal_met() {
        assert_eq!(
            not_renewed(
                "polscan-system",
                "run-lock",
                Some("renewing Lease polscan-system/run-lock: connection refused")
            ),
            "Lease polscan-system/run-lock could not be renewed for 60s (last: renewing Lease polscan-system/run-lock: connection refused); another scan may since have taken it over as expired"
        );
        assert_eq!(
            not_renewed("ns", "l", None),
            "Lease ns/l could not be renewed for 60s; another scan may since have taken it over as expired"
        );
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .expect("time")
    }

    fn lease(holder: &str, renewed: &str, duration: i64) -> Value {
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "polscan-last-run-lock", "namespace": "polscan-system",
                         "resourceVersion": "7"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration,
                     "acquireTime": "2027-01-15T08:00:00.000000Z", "renewTime": renewed,
                     "leaseTransitions": 2}})
    }

    /// The wait said is the one that ends first: the scan's deadline when
    /// it comes before the lock timeout.
    #[test]
    fn the_wait_said_is_the_shorter_of_the_lock_timeout_and_the_deadline() {
        let note =
            |deadline| waiting_note("ns/run-lock", "pod-a", Duration::from_secs(120), deadline);
        assert_eq!(
            note(Some(Duration::from_secs(2))),
            "Lease ns/run-lock is held by pod-a: another scan recording to the same run record is running; waiting up to 2s for it (the scan's --timeout ends the wait before --lock-timeout's 120s)"
        );
        for deadline in [None, Some(Duration::from_secs(600))] {
            assert_eq!(
                note(deadline),
                "Lease ns/run-lock is held by pod-a: another scan recording to the same run record is running; waiting up to 120s for it"
            );
        }
    }

    #[test]
    fn no_lease_is_created_and_a_free_or_own_one_is_taken() {
        let now = at("2027-01-15T08:00:30Z");
        assert_eq!(decide(None, "me", now, None), Decision::Create);
        let take = Decision::Take {
            resource_version: "7".into(),
            expired: None,
        };
        // Released: no holder.
        let released = lease("", "2027-01-15T08:00:20.000000Z", 60);
        assert_eq!(decide(Some(&released), "me", now, None), take);
        // Ours already (a retry of the same acquisition).
        let ours = lease("me", "2027-01-15T08:00:20.000000Z", 60);
        assert_eq!(decide(Some(&ours), "me", now, None), take);
    }

    #[test]
    fn a_lease_held_by_another_is_waited_for_until_it_expires() {
        let held = lease("pod-a pid 1 run r1", "2027-01-15T08:00:20.000000Z", 60);
        // Renewed 10s ago: held.
        let Decision::Wait { holder } = decide(Some(&held), "me", at("2027-01-15T08:00:30Z"), None)
        else {
            panic!("expected to wait");
        };
        assert_eq!(holder.identity, "pod-a pid 1 run r1");
        assert_eq!(holder.expires, Some(at("2027-01-15T08:01:20Z")));
        assert_eq!(
            holder.describe(),
            "pod-a pid 1 run r1 since 2027-01-15T08:00:00Z (last renewed 2027-01-15T08:00:20Z)"
        );
        // One second before it expires: still held.
        assert!(matches!(
            decide(Some(&held), "me", at("2027-01-15T08:01:19Z"), None),
            Decision::Wait { .. }
        ));
        // renewTime + leaseDurationSeconds passed by our clock, but it was
        // not seen unchanged that long: our clock may be ahead.
        assert!(matches!(
            decide(Some(&held), "me", at("2027-01-15T08:01:20Z"), None),
            Decision::Wait { .. }
        ));
        // Seen unchanged since 08:00:30 by our clock: 50 s is not enough,
        // its whole 60 s is.
        let seen = Observation {
            resource_version: "7".into(),
            since: at("2027-01-15T08:00:30Z"),
        };
        assert!(matches!(
            decide(Some(&held), "me", at("2027-01-15T08:01:20Z"), Some(&seen)),
            Decision::Wait { .. }
        ));
        let Decision::Take {
            resource_version,
            expired: Some(expired),
        } = decide(Some(&held), "me", at("2027-01-15T08:01:30Z"), Some(&seen))
        else {
            panic!("expected a takeover");
        };
        assert_eq!(resource_version, "7");
        assert_eq!(expired.identity, "pod-a pid 1 run r1");
        // Another resourceVersion seen: a renewal, the wait starts again.
        let renewed = Observation {
            resource_version: "6".into(),
            ..seen
        };
        assert!(matches!(
            decide(
                Some(&held),
                "me",
                at("2027-01-15T08:01:30Z"),
                Some(&renewed)
            ),
            Decision::Wait { .. }
        ));
        // Expired more than SKEW_MARGIN_SECONDS ago (a scan killed long
        // before): taken at once.
        assert!(matches!(
            decide(Some(&held), "me", at("2027-01-15T08:06:19Z"), None),
            Decision::Wait { .. }
        ));
        assert!(matches!(
            decide(Some(&held), "me", at("2027-01-15T08:06:20Z"), None),
            Decision::Take {
                expired: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn a_lease_whose_expiry_cannot_be_read_is_never_taken_over() {
        let far = at("2099-01-01T00:00:00Z");
        let mut unreadable = lease("pod-a", "yesterday", 60);
        unreadable["spec"]["acquireTime"] = json!("long ago");
        assert!(matches!(
            decide(Some(&unreadable), "me", far, None),
            Decision::Wait { holder } if holder.expires.is_none()
        ));
        let mut no_duration = lease("pod-a", "2027-01-15T08:00:20.000000Z", 60);
        no_duration["spec"]
            .as_object_mut()
            .expect("spec")
            .remove("leaseDurationSeconds");
        assert!(matches!(
            decide(Some(&no_duration), "me", far, None),
            Decision::Wait { .. }
        ));
        // A huge duration does not overflow: it just does not expire.
        let huge = lease("pod-a", "2027-01-15T08:00:20.000000Z", i64::MAX);
        assert!(matches!(
            decide(Some(&huge), "me", far, None),
            Decision::Wait { .. }
        ));
        // No resourceVersion to write on: not taken, even when free.
        let mut unversioned = lease("", "2027-01-15T08:00:20.000000Z", 60);
        unversioned["metadata"]
            .as_object_mut()
            .expect("metadata")
            .remove("resourceVersion");
        assert!(matches!(
            decide(Some(&unversioned), "me", far, None),
            Decision::Wait { .. }
        ));
    }

    #[test]
    fn the_lease_written_keeps_its_acquisition_and_counts_transitions() {
        let now = at("2027-01-15T08:02:00.5Z");
        let created = lease_object("ns", "l", "me", now, None);
        assert_eq!(created["spec"]["holderIdentity"], "me");
        assert_eq!(created["spec"]["renewTime"], "2027-01-15T08:02:00.500000Z");
        assert_eq!(created["spec"]["acquireTime"], created["spec"]["renewTime"]);
        assert_eq!(created["spec"]["leaseTransitions"], 0);
        assert_eq!(
            created["spec"]["leaseDurationSeconds"],
            LEASE_DURATION_SECONDS
        );
        assert!(created["metadata"].get("resourceVersion").is_none());
        // Taken over: a new acquisition, one more transition.
        let theirs = lease("pod-a", "2027-01-15T08:00:20.000000Z", 60);
        let taken = lease_object("ns", "l", "me", now, Some(&theirs));
        assert_eq!(taken["spec"]["acquireTime"], "2027-01-15T08:02:00.500000Z");
        assert_eq!(taken["spec"]["leaseTransitions"], 3);
        assert_eq!(taken["metadata"]["resourceVersion"], "7");
        // Renewed: the same acquisition and transitions.
        let ours = lease("me", "2027-01-15T08:01:40.000000Z", 60);
        let renewed = lease_object("ns", "l", "me", now, Some(&ours));
        assert_eq!(
            renewed["spec"]["acquireTime"],
            "2027-01-15T08:00:00.000000Z"
        );
        assert_eq!(renewed["spec"]["leaseTransitions"], 2);
        assert_eq!(lease_name("polscan-last-run-1"), "polscan-last-run-1-lock");
    }
}

//! Safeguarding flags and attendance notifications, as NHS CP-IS provides them for England.
//!
//! Children's social care publishes a [`Flag`] per child — a child protection plan, a
//! looked-after child, or an unborn child subject to a pre-birth plan — owned by a local
//! authority with office-hours and out-of-hours contacts. When a flagged child attends
//! *unscheduled* care ([`CareSetting::is_unscheduled`]: emergency department, urgent treatment
//! centre, walk-in centre, out-of-hours GP, maternity, ambulance), or a notifying role opens the
//! child's record there, the owning authority is told. Scheduled settings see the flag silently.
//!
//! The tour:
//! - [`flag`]: the flag kinds and the validation of a published flag ([`Flag::validate`]).
//! - [`setting`]: care settings, which are unscheduled, and the date in England of an instant.
//! - [`notify`]: the pure decisions — which flags apply, which notification, what it says
//!   ([`attendance_notifications`], [`view_notifications`], [`identity_change_notification`]).
//! - [`service`]: the operations the server calls, each one transaction on a [`store::Store`]:
//!   [`publish_flag`], [`end_flag`], [`active_flags`], [`record_encounter`] (the encounter and
//!   its notifications written together), [`view_flags`] (with the access log and freshness),
//!   [`inbox`] and [`repoint_flags`] (after a merge or split).
//! - [`delivery`]: the worker that posts queued notifications to each authority's webhook,
//!   with exponential backoff, at least once.
//!
//! Notifications are idempotent per encounter and flag (a unique key in the outbox) and
//! durable (written in the encounter's transaction). This crate holds no SQL; that is
//! `store::safeguarding`.
//!
//! ```
//! use safeguarding::{CareSetting, Encounter, EncounterRef, Organisation};
//! let mut store = store::Store::open("sqlite::memory:").unwrap();
//! let encounter = Encounter {
//!     reference: EncounterRef { source_org: "RR8".into(), local_id: "ED-1".into() },
//!     cci: "K000000001X".into(),
//!     setting: CareSetting::EmergencyDepartment,
//!     organisation: Organisation { code: "RR8".into(), name: "Leeds Teaching Hospitals".into() },
//!     started_at: "2026-03-01T10:00:00Z".parse().unwrap(),
//! };
//! let now = "2026-03-01T10:00:01Z".parse().unwrap();
//! let outcome = safeguarding::record_encounter(&mut store, &encounter, now).unwrap();
//! // No flag published for this child: nothing to show, nobody to tell.
//! assert!(outcome.flags.is_empty() && outcome.notifications.is_empty());
//! ```

pub mod delivery;
pub mod flag;
pub mod notify;
pub mod service;
pub mod setting;

use jiff::civil::Date;
use thiserror::Error;

pub use flag::{Contact, Flag, FlagKind, LocalAuthority, PublishFlag, cci_from_serial, parse_cci};
pub use notify::{
    Encounter, EncounterRef, NotificationBody, NotificationKind, NotifyPolicy, Organisation,
    PlannedNotification, Viewer, attendance_notifications, identity_change_notification,
    view_notifications,
};
pub use service::{
    ACCESS_LOG_LENGTH, EncounterOutcome, EndFlag, FlagEntry, Published, Repointed, ShownFlag,
    ViewOutcome, active_flags, end_flag, inbox, publish_flag, record_encounter, repoint_flags,
    repoint_flags_in, stored_time, view_flags,
};
pub use setting::{CareSetting, england_date};
pub use store::safeguarding::{FlagAccess, FlagWrite, NotificationRow};

/// Everything that can go wrong with flags, encounters and notifications.
#[derive(Debug, Error)]
pub enum Error {
    #[error(
        "unknown flag kind `{0}`: use `child-protection-plan`, `looked-after-child` or \
         `unborn-child-protection-plan`"
    )]
    UnknownFlagKind(String),
    #[error(
        "unknown care setting `{0}`: use one of emergency-department, urgent-treatment-centre, \
         walk-in-centre, out-of-hours-gp, maternity, ambulance, gp-surgery, outpatients, \
         school-nurse, health-visiting, community-health, mental-health"
    )]
    UnknownSetting(String),
    #[error("missing `{field}`: {why}")]
    Missing {
        field: &'static str,
        why: &'static str,
    },
    #[error("invalid email in `{field}`: `{value}` is not an address like `team@council.gov.uk`")]
    InvalidEmail { field: &'static str, value: String },
    #[error("invalid phone number in `{field}`: `{value}` should be 10 to 13 digits")]
    InvalidPhone { field: &'static str, value: String },
    #[error("`end_date` {end} is before `start_date` {start}")]
    EndBeforeStart { start: Date, end: Date },
    #[error("invalid CCI `{value}`: {why}")]
    InvalidCci { value: String, why: &'static str },
    #[error("no {kind} flag `{reference}` owned by `{la_code}` for `{cci}`")]
    NoSuchFlag {
        la_code: String,
        kind: FlagKind,
        cci: String,
        reference: String,
    },
    #[error("cannot re-point flags from `{0}` to itself")]
    SameChild(String),
    #[error("stored `{column}` value `{value}` is not what Kith wrote")]
    Stored { column: &'static str, value: String },
    #[error("notification JSON: {0}")]
    Json(serde_json::Error),
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

//! The pure decisions: which flags apply to an attendance or a view, and what the owning
//! authority is told. No storage, no clock — callers pass the flags and the time.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::Serialize;

use crate::flag::{Flag, FlagKind};
use crate::setting::{CareSetting, england_date};

/// The attending organisation (an ODS code and name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organisation {
    pub code: String,
    pub name: String,
}

/// An encounter's identity in the system that sent it: idempotency is per this pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EncounterRef {
    pub source_org: String,
    pub local_id: String,
}

/// A child's attendance at a care setting, as the attending system reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encounter {
    pub reference: EncounterRef,
    pub cci: String,
    pub setting: CareSetting,
    pub organisation: Organisation,
    pub started_at: Timestamp,
}

/// Someone opening a child's record, and where they are doing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// The practitioner's user id.
    pub user: String,
    pub organisation: Organisation,
    /// The practitioner's role code, e.g. `ed-clinician`.
    pub role: String,
    pub setting: CareSetting,
    /// The encounter the view belongs to; a second view in the same encounter notifies nothing
    /// new.
    pub encounter: EncounterRef,
}

/// Which viewers' roles notify the owning authority when they open a flagged child's record in
/// an unscheduled setting (configuration, not code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyPolicy {
    pub notifying_roles: BTreeSet<String>,
}

impl Default for NotifyPolicy {
    fn default() -> Self {
        NotifyPolicy {
            notifying_roles: [
                "ed-clinician",
                "urgent-care-clinician",
                "ooh-gp",
                "paramedic",
                "midwife",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        }
    }
}

/// Why an authority is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// A flagged child attended unscheduled care.
    Attendance,
    /// A notifying role opened a flagged child's record in unscheduled care.
    View,
    /// The child's records were merged into or split from another CCI; the flag moved.
    IdentityChange,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Attendance => "attendance",
            NotificationKind::View => "view",
            NotificationKind::IdentityChange => "identity-change",
        }
    }
}

/// What a notification says — no more than CP-IS shares: the child, the flag kind, where and
/// when, and the encounter reference. The notification id is added at delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NotificationBody {
    Attendance {
        cci: String,
        flag_kind: FlagKind,
        organisation: Organisation,
        setting: CareSetting,
        at: Timestamp,
        encounter: EncounterRef,
    },
    View {
        cci: String,
        flag_kind: FlagKind,
        organisation: Organisation,
        setting: CareSetting,
        at: Timestamp,
        encounter: EncounterRef,
        role: String,
    },
    IdentityChange {
        cci: String,
        previous_cci: String,
        flag_kind: FlagKind,
        /// The authority's own reference for the flag, so it can find its record.
        flag_reference: String,
        reason: String,
        at: Timestamp,
    },
}

impl Serialize for FlagKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Serialize for CareSetting {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A notification decided on, ready to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedNotification {
    /// Unique per occasion and flag; the outbox refuses a second row with the same key.
    pub dedup_key: String,
    pub kind: NotificationKind,
    pub la_code: String,
    pub flag_id: i64,
    pub cci: String,
    pub body: NotificationBody,
}

/// The key shared by an attendance and every view in the same encounter: the owning authority
/// hears about an encounter once per flag, whichever comes first.
fn encounter_key(reference: &EncounterRef, flag_id: i64) -> String {
    // A JSON array cannot be confused by separators inside local ids.
    serde_json::json!([
        "encounter",
        reference.source_org,
        reference.local_id,
        flag_id
    ])
    .to_string()
}

/// The flags (of those given, with their store ids) in force at `at`, by the date in England.
pub fn flags_in_force(flags: &[(i64, Flag)], at: Timestamp) -> Vec<&(i64, Flag)> {
    let date = england_date(at);
    flags.iter().filter(|(_, f)| f.is_active_on(date)).collect()
}

/// The notifications an attendance causes: one per flag in force at its start, and only in
/// unscheduled care. Scheduled settings see the flag without notifying.
pub fn attendance_notifications(
    encounter: &Encounter,
    flags: &[(i64, Flag)],
) -> Vec<PlannedNotification> {
    if !encounter.setting.is_unscheduled() {
        return Vec::new();
    }
    flags_in_force(flags, encounter.started_at)
        .into_iter()
        .filter(|(_, flag)| flag.cci == encounter.cci)
        .map(|(flag_id, flag)| PlannedNotification {
            dedup_key: encounter_key(&encounter.reference, *flag_id),
            kind: NotificationKind::Attendance,
            la_code: flag.owner.code.clone(),
            flag_id: *flag_id,
            cci: flag.cci.clone(),
            body: NotificationBody::Attendance {
                cci: flag.cci.clone(),
                flag_kind: flag.kind,
                organisation: encounter.organisation.clone(),
                setting: encounter.setting,
                at: encounter.started_at,
                encounter: encounter.reference.clone(),
            },
        })
        .collect()
}

/// The notifications a view causes: only a notifying role, only in unscheduled care, one per
/// flag in force — sharing the encounter's key, so it adds nothing after the attendance.
pub fn view_notifications(
    viewer: &Viewer,
    policy: &NotifyPolicy,
    cci: &str,
    flags: &[(i64, Flag)],
    at: Timestamp,
) -> Vec<PlannedNotification> {
    if !viewer.setting.is_unscheduled() || !policy.notifying_roles.contains(&viewer.role) {
        return Vec::new();
    }
    flags_in_force(flags, at)
        .into_iter()
        .filter(|(_, flag)| flag.cci == cci)
        .map(|(flag_id, flag)| PlannedNotification {
            dedup_key: encounter_key(&viewer.encounter, *flag_id),
            kind: NotificationKind::View,
            la_code: flag.owner.code.clone(),
            flag_id: *flag_id,
            cci: flag.cci.clone(),
            body: NotificationBody::View {
                cci: flag.cci.clone(),
                flag_kind: flag.kind,
                organisation: viewer.organisation.clone(),
                setting: viewer.setting,
                at,
                encounter: viewer.encounter.clone(),
                role: viewer.role.clone(),
            },
        })
        .collect()
}

/// The notification that a flag moved from a retired CCI to its survivor.
pub fn identity_change_notification(
    flag_id: i64,
    flag: &Flag,
    previous_cci: &str,
    reason: &str,
    at: Timestamp,
) -> PlannedNotification {
    PlannedNotification {
        dedup_key: serde_json::json!([
            "identity-change",
            flag_id,
            previous_cci,
            flag.cci,
            at.to_string()
        ])
        .to_string(),
        kind: NotificationKind::IdentityChange,
        la_code: flag.owner.code.clone(),
        flag_id,
        cci: flag.cci.clone(),
        body: NotificationBody::IdentityChange {
            cci: flag.cci.clone(),
            previous_cci: previous_cci.to_string(),
            flag_kind: flag.kind,
            flag_reference: flag.reference.clone(),
            reason: reason.to_string(),
            at,
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::flag::{Contact, LocalAuthority};

    fn flag(start: &str, end: Option<&str>) -> Flag {
        Flag {
            cci: "K000000001X".into(),
            kind: FlagKind::LookedAfterChild,
            owner: LocalAuthority {
                code: "E08000035".into(),
                name: "Leeds".into(),
            },
            office_hours: Contact {
                phone: "0113 222 4403".into(),
                email: "cp@leeds.gov.uk".into(),
            },
            out_of_hours: Contact {
                phone: "0113 535 0600".into(),
                email: "edt@leeds.gov.uk".into(),
            },
            start_date: start.parse().unwrap(),
            end_date: end.map(|e| e.parse().unwrap()),
            reference: "LAC-9".into(),
            source_updated_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        }
    }

    fn encounter(setting: CareSetting, at: &str) -> Encounter {
        Encounter {
            reference: EncounterRef {
                source_org: "RR8".into(),
                local_id: "ED-1".into(),
            },
            cci: "K000000001X".into(),
            setting,
            organisation: Organisation {
                code: "RR8".into(),
                name: "Leeds Teaching Hospitals".into(),
            },
            started_at: at.parse().unwrap(),
        }
    }

    fn viewer(role: &str, setting: CareSetting) -> Viewer {
        Viewer {
            user: "u-17".into(),
            organisation: Organisation {
                code: "RR8".into(),
                name: "Leeds Teaching Hospitals".into(),
            },
            role: role.into(),
            setting,
            encounter: EncounterRef {
                source_org: "RR8".into(),
                local_id: "ED-1".into(),
            },
        }
    }

    #[test]
    fn an_ed_attendance_with_an_active_flag_notifies_its_owner() {
        let flags = [(7, flag("2026-01-01", None))];
        let planned = attendance_notifications(
            &encounter(CareSetting::EmergencyDepartment, "2026-03-01T10:00:00Z"),
            &flags,
        );
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].la_code, "E08000035");
        assert_eq!(planned[0].dedup_key, r#"["encounter","RR8","ED-1",7]"#);
        assert_eq!(
            serde_json::to_string(&planned[0].body).unwrap(),
            r#"{"kind":"attendance","cci":"K000000001X","flag_kind":"looked-after-child","organisation":{"code":"RR8","name":"Leeds Teaching Hospitals"},"setting":"emergency-department","at":"2026-03-01T10:00:00Z","encounter":{"source_org":"RR8","local_id":"ED-1"}}"#
        );
    }

    #[test]
    fn scheduled_settings_notify_nothing() {
        let flags = [(7, flag("2026-01-01", None))];
        for setting in [CareSetting::GpSurgery, CareSetting::Outpatients] {
            assert!(
                attendance_notifications(&encounter(setting, "2026-03-01T10:00:00Z"), &flags)
                    .is_empty()
            );
        }
    }

    #[test]
    fn ended_and_future_flags_notify_nothing() {
        let at = "2026-03-01T10:00:00Z";
        let ended = [(7, flag("2026-01-01", Some("2026-02-28")))];
        let future = [(7, flag("2026-03-02", None))];
        let ends_today = [(7, flag("2026-01-01", Some("2026-03-01")))];
        let ed = encounter(CareSetting::EmergencyDepartment, at);
        assert!(attendance_notifications(&ed, &ended).is_empty());
        assert!(attendance_notifications(&ed, &future).is_empty());
        assert_eq!(attendance_notifications(&ed, &ends_today).len(), 1);
    }

    #[test]
    fn a_flag_starting_today_in_england_applies_before_utc_midnight() {
        // 23:30 UTC on 31 May is 1 June in England.
        let flags = [(7, flag("2026-06-01", None))];
        let ed = encounter(CareSetting::EmergencyDepartment, "2026-05-31T23:30:00Z");
        assert_eq!(attendance_notifications(&ed, &flags).len(), 1);
    }

    #[test]
    fn views_notify_only_for_notifying_roles_in_unscheduled_care() {
        let flags = [(7, flag("2026-01-01", None))];
        let policy = NotifyPolicy::default();
        let at = "2026-03-01T10:05:00Z".parse().unwrap();
        let notify = |v: &Viewer| view_notifications(v, &policy, "K000000001X", &flags, at);
        let by_ed = notify(&viewer("ed-clinician", CareSetting::EmergencyDepartment));
        assert_eq!(by_ed.len(), 1);
        // Same key as the attendance in that encounter: the owner hears once.
        let attendance = attendance_notifications(
            &encounter(CareSetting::EmergencyDepartment, "2026-03-01T10:00:00Z"),
            &flags,
        );
        assert_eq!(by_ed[0].dedup_key, attendance[0].dedup_key);
        assert!(notify(&viewer("receptionist", CareSetting::EmergencyDepartment)).is_empty());
        assert!(notify(&viewer("ed-clinician", CareSetting::GpSurgery)).is_empty());
    }

    #[test]
    fn identity_change_names_both_identifiers_and_the_flag_reference() {
        let f = flag("2026-01-01", None);
        let planned = identity_change_notification(
            7,
            &f,
            "K0000000029",
            "duplicate records merged",
            "2026-03-01T10:00:00Z".parse().unwrap(),
        );
        assert_eq!(planned.kind, NotificationKind::IdentityChange);
        let json = serde_json::to_value(&planned.body).unwrap();
        assert_eq!(json["kind"], "identity-change");
        assert_eq!(json["previous_cci"], "K0000000029");
        assert_eq!(json["flag_reference"], "LAC-9");
    }
}

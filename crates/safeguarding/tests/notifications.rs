//! Which attendances and views notify the owning authority, exactly once, on both engines;
//! the access log and freshness shown with a flag; flags re-pointed after a merge.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{CHILD, Harness, LEEDS, encounter, publish};
use jiff::Timestamp;
use safeguarding::{
    CareSetting, EncounterRef, EndFlag, Error, FlagWrite, NotifyPolicy, Organisation, Viewer,
    cci_from_serial,
};

both_engines!(
    a_flagged_child_in_the_ed_notifies_once_however_often_the_encounter_is_sent,
    a_scheduled_setting_sees_the_flag_without_notifying,
    an_unflagged_child_notifies_nobody,
    an_ended_flag_notifies_nobody,
    a_notifying_role_viewing_in_unscheduled_care_notifies_once,
    a_view_in_an_encounter_that_already_notified_adds_nothing,
    other_roles_and_scheduled_settings_view_silently,
    views_are_logged_and_the_last_25_returned_with_freshness,
    a_republished_flag_is_updated_not_duplicated,
    invalid_flags_are_refused_with_the_field_named,
    repointing_moves_flags_to_the_survivor_and_tells_the_owner,
    an_end_older_at_its_source_than_the_flag_changes_nothing,
    a_sub_second_later_version_wins,
    an_encounter_without_its_identity_is_refused,
);

fn end_request(end: &str, updated: &str) -> EndFlag {
    EndFlag {
        la_code: LEEDS.into(),
        kind: "child-protection-plan".into(),
        cci: CHILD.into(),
        reference: "CPP-1234".into(),
        end_date: end.parse().unwrap(),
        source_updated_at: updated.parse().unwrap(),
    }
}

fn an_end_older_at_its_source_than_the_flag_changes_nothing(h: &mut Harness) {
    let id = cpp(h);
    // Published at 2026-01-10T09:00Z; an end written at 08:00 that day arrives late.
    let stale = end_request("2026-01-31", "2026-01-10T08:00:00Z");
    let outcome = safeguarding::end_flag(&mut h.store, &stale, now()).unwrap();
    assert_eq!((outcome.flag_id, outcome.write), (id, FlagWrite::Older));
    let day = "2026-03-01".parse().unwrap();
    assert_eq!(
        safeguarding::active_flags(&mut h.store, CHILD, day)
            .unwrap()
            .len(),
        1
    );
    let current = end_request("2026-01-31", "2026-01-31T17:00:00Z");
    let outcome = safeguarding::end_flag(&mut h.store, &current, now()).unwrap();
    assert_eq!(outcome.write, FlagWrite::Updated);
    let outcome = safeguarding::end_flag(&mut h.store, &current, now()).unwrap();
    assert_eq!(outcome.write, FlagWrite::Unchanged);
    assert!(
        safeguarding::active_flags(&mut h.store, CHILD, day)
            .unwrap()
            .is_empty()
    );
    let unknown = EndFlag {
        reference: "CPP-0".into(),
        ..current
    };
    let error = safeguarding::end_flag(&mut h.store, &unknown, now()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "no child-protection-plan flag `CPP-0` owned by `E08000035` for `K000000001X`"
    );
}

fn a_sub_second_later_version_wins(h: &mut Harness) {
    let mut first = publish(CHILD, "child-protection-plan");
    first.source_updated_at = "2026-01-10T09:00:00Z".parse().unwrap();
    safeguarding::publish_flag(&mut h.store, first, now()).unwrap();
    let mut later = publish(CHILD, "child-protection-plan");
    later.source_updated_at = "2026-01-10T09:00:00.5Z".parse().unwrap();
    later.office_hours.phone = "0113 222 4404".into();
    let outcome = safeguarding::publish_flag(&mut h.store, later, now()).unwrap();
    assert_eq!(outcome.write, FlagWrite::Updated);
}

fn an_encounter_without_its_identity_is_refused(h: &mut Harness) {
    cpp(h);
    let mut ed = encounter(CHILD, " ", CareSetting::EmergencyDepartment);
    let error = safeguarding::record_encounter(&mut h.store, &ed, now()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "missing `encounter.local_id`: an encounter is known by its sending organisation and \
         local id"
    );
    ed.reference.local_id = "ED-1".into();
    ed.cci = "K00000000".into();
    assert!(matches!(
        safeguarding::record_encounter(&mut h.store, &ed, now()),
        Err(Error::InvalidCci { .. })
    ));
    assert_eq!(inbox_len(h), 0);
}

fn now() -> Timestamp {
    "2026-03-01T10:00:05Z".parse().unwrap()
}

fn cpp(h: &mut Harness) -> i64 {
    safeguarding::publish_flag(&mut h.store, publish(CHILD, "child-protection-plan"), now())
        .unwrap()
        .flag_id
}

fn inbox_len(h: &mut Harness) -> usize {
    safeguarding::inbox(&mut h.store, LEEDS, 0, 1000)
        .unwrap()
        .len()
}

fn viewer(role: &str, setting: CareSetting, local_id: &str) -> Viewer {
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
            local_id: local_id.into(),
        },
    }
}

fn a_flagged_child_in_the_ed_notifies_once_however_often_the_encounter_is_sent(h: &mut Harness) {
    let flag_id = cpp(h);
    let ed = encounter(CHILD, "ED-1", CareSetting::EmergencyDepartment);
    let first = safeguarding::record_encounter(&mut h.store, &ed, now()).unwrap();
    assert!(first.encounter_id.is_some());
    assert_eq!(first.flags.len(), 1);
    assert_eq!(first.notifications.len(), 1);
    let again = safeguarding::record_encounter(&mut h.store, &ed, now()).unwrap();
    assert_eq!(again.encounter_id, None);
    assert!(again.notifications.is_empty());
    // The clinician still sees the flag on a re-sent encounter.
    assert_eq!(again.flags.len(), 1);
    let inbox = safeguarding::inbox(&mut h.store, LEEDS, 0, 100).unwrap();
    assert_eq!(inbox.len(), 1);
    let n = &inbox[0];
    assert_eq!(
        (n.kind.as_str(), n.flag_id, n.status.as_str()),
        ("attendance", flag_id, "pending")
    );
    // No more than CP-IS shares: the child, the flag kind, where, when, the encounter.
    let body: serde_json::Value = serde_json::from_str(&n.payload).unwrap();
    let mut keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "at",
            "cci",
            "encounter",
            "flag_kind",
            "kind",
            "organisation",
            "setting"
        ]
    );
    assert_eq!(body["flag_kind"], "child-protection-plan");
    assert_eq!(body["setting"], "emergency-department");
    // A second encounter is a second attendance.
    let later = encounter(CHILD, "ED-2", CareSetting::UrgentTreatmentCentre);
    let second = safeguarding::record_encounter(&mut h.store, &later, now()).unwrap();
    assert_eq!(second.notifications.len(), 1);
    assert_eq!(inbox_len(h), 2);
}

fn a_scheduled_setting_sees_the_flag_without_notifying(h: &mut Harness) {
    cpp(h);
    for (n, setting) in [
        CareSetting::GpSurgery,
        CareSetting::Outpatients,
        CareSetting::SchoolNurse,
    ]
    .into_iter()
    .enumerate()
    {
        let visit = encounter(CHILD, &format!("V-{n}"), setting);
        let outcome = safeguarding::record_encounter(&mut h.store, &visit, now()).unwrap();
        assert_eq!(outcome.flags.len(), 1, "{setting} sees the flag");
        assert!(
            outcome.notifications.is_empty(),
            "{setting} must not notify"
        );
    }
    assert_eq!(inbox_len(h), 0);
}

fn an_unflagged_child_notifies_nobody(h: &mut Harness) {
    cpp(h);
    let other = cci_from_serial(2);
    let ed = encounter(&other, "ED-1", CareSetting::EmergencyDepartment);
    let outcome = safeguarding::record_encounter(&mut h.store, &ed, now()).unwrap();
    assert!(outcome.flags.is_empty() && outcome.notifications.is_empty());
    assert_eq!(inbox_len(h), 0);
}

fn an_ended_flag_notifies_nobody(h: &mut Harness) {
    cpp(h);
    let ended = safeguarding::end_flag(
        &mut h.store,
        &EndFlag {
            la_code: LEEDS.into(),
            kind: "child-protection-plan".into(),
            cci: CHILD.into(),
            reference: "CPP-1234".into(),
            end_date: "2026-02-28".parse().unwrap(),
            source_updated_at: "2026-02-28T16:00:00Z".parse().unwrap(),
        },
        now(),
    );
    assert!(ended.is_ok());
    let ed = encounter(CHILD, "ED-1", CareSetting::EmergencyDepartment);
    let outcome = safeguarding::record_encounter(&mut h.store, &ed, now()).unwrap();
    assert!(outcome.flags.is_empty() && outcome.notifications.is_empty());
    assert_eq!(inbox_len(h), 0);
    let active = safeguarding::active_flags(&mut h.store, CHILD, "2026-02-28".parse().unwrap());
    assert_eq!(
        active.unwrap().len(),
        1,
        "the flag applies through its end date"
    );
}

fn a_notifying_role_viewing_in_unscheduled_care_notifies_once(h: &mut Harness) {
    cpp(h);
    let policy = NotifyPolicy::default();
    let ed = viewer("ed-clinician", CareSetting::EmergencyDepartment, "ED-9");
    let first = safeguarding::view_flags(&mut h.store, &policy, &ed, CHILD, now()).unwrap();
    assert_eq!(first.flags.len(), 1);
    assert_eq!(first.notifications.len(), 1);
    let again = safeguarding::view_flags(&mut h.store, &policy, &ed, CHILD, now()).unwrap();
    assert!(again.notifications.is_empty());
    let inbox = safeguarding::inbox(&mut h.store, LEEDS, 0, 100).unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].kind, "view");
}

fn a_view_in_an_encounter_that_already_notified_adds_nothing(h: &mut Harness) {
    cpp(h);
    let ed = encounter(CHILD, "ED-1", CareSetting::EmergencyDepartment);
    safeguarding::record_encounter(&mut h.store, &ed, now()).unwrap();
    let clinician = viewer("ed-clinician", CareSetting::EmergencyDepartment, "ED-1");
    let view = safeguarding::view_flags(
        &mut h.store,
        &NotifyPolicy::default(),
        &clinician,
        CHILD,
        now(),
    )
    .unwrap();
    assert!(view.notifications.is_empty());
    assert_eq!(inbox_len(h), 1);
}

fn other_roles_and_scheduled_settings_view_silently(h: &mut Harness) {
    cpp(h);
    let policy = NotifyPolicy::default();
    for v in [
        viewer("receptionist", CareSetting::EmergencyDepartment, "ED-1"),
        viewer("ed-clinician", CareSetting::GpSurgery, "GP-1"),
    ] {
        let outcome = safeguarding::view_flags(&mut h.store, &policy, &v, CHILD, now()).unwrap();
        assert_eq!(outcome.flags.len(), 1);
        assert!(outcome.notifications.is_empty());
    }
    assert_eq!(inbox_len(h), 0);
}

fn views_are_logged_and_the_last_25_returned_with_freshness(h: &mut Harness) {
    cpp(h);
    let policy = NotifyPolicy::default();
    let mut last = None;
    for n in 0..30 {
        let mut v = viewer("gp", CareSetting::GpSurgery, "GP-1");
        v.user = format!("u-{n}");
        last = Some(safeguarding::view_flags(&mut h.store, &policy, &v, CHILD, now()).unwrap());
    }
    let shown = &last.unwrap().flags[0];
    assert_eq!(
        shown.recent_accesses.len(),
        safeguarding::ACCESS_LOG_LENGTH as usize
    );
    assert_eq!(shown.recent_accesses[0].viewer, "u-29");
    assert_eq!(shown.recent_accesses[0].role, "gp");
    assert_eq!(shown.recent_accesses[0].org_code, "RR8");
    // Published at 2026-01-10T09:00Z, viewed at 2026-03-01T10:00:05Z.
    let expected: Timestamp = "2026-01-10T09:00:00Z".parse().unwrap();
    assert_eq!(shown.freshness, now().duration_since(expected));
    assert_eq!(shown.freshness.as_secs() / 3600, 50 * 24 + 1);
}

fn a_republished_flag_is_updated_not_duplicated(h: &mut Harness) {
    let id = cpp(h);
    let same =
        safeguarding::publish_flag(&mut h.store, publish(CHILD, "child-protection-plan"), now());
    assert_eq!(same.unwrap().write, FlagWrite::Unchanged);
    let mut changed = publish(CHILD, "child-protection-plan");
    changed.out_of_hours.phone = "0113 535 0601".into();
    changed.source_updated_at = "2026-02-01T00:00:00Z".parse().unwrap();
    let updated = safeguarding::publish_flag(&mut h.store, changed, now()).unwrap();
    assert_eq!((updated.flag_id, updated.write), (id, FlagWrite::Updated));
    let flags = safeguarding::active_flags(&mut h.store, CHILD, "2026-03-01".parse().unwrap());
    let flags = flags.unwrap();
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].flag.out_of_hours.phone, "0113 535 0601");
}

fn invalid_flags_are_refused_with_the_field_named(h: &mut Harness) {
    let mut missing = publish(CHILD, "child-protection-plan");
    missing.office_hours.email = String::new();
    let error = safeguarding::publish_flag(&mut h.store, missing, now()).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Missing {
                field: "office_hours.email",
                ..
            }
        ),
        "{error}"
    );
    let error = safeguarding::publish_flag(&mut h.store, publish(CHILD, "cin"), now()).unwrap_err();
    assert!(matches!(error, Error::UnknownFlagKind(_)));
    let error = safeguarding::publish_flag(
        &mut h.store,
        publish("K0000000011", "looked-after-child"),
        now(),
    )
    .unwrap_err();
    assert!(matches!(error, Error::InvalidCci { .. }));
    let mut backwards = publish(CHILD, "child-protection-plan");
    backwards.end_date = Some("2025-12-31".parse().unwrap());
    let error = safeguarding::publish_flag(&mut h.store, backwards, now()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "`end_date` 2025-12-31 is before `start_date` 2026-01-10"
    );
    let flags = safeguarding::active_flags(&mut h.store, CHILD, "2026-03-01".parse().unwrap());
    assert!(flags.unwrap().is_empty(), "nothing invalid was stored");
}

fn repointing_moves_flags_to_the_survivor_and_tells_the_owner(h: &mut Harness) {
    let retired = cci_from_serial(2);
    let survivor = CHILD;
    let mut lac = publish(&retired, "looked-after-child");
    lac.reference = "LAC-77".into();
    let lac_id = safeguarding::publish_flag(&mut h.store, lac, now())
        .unwrap()
        .flag_id;
    let moved = safeguarding::repoint_flags(
        &mut h.store,
        &retired,
        survivor,
        "duplicate records merged by a data steward",
        now(),
    )
    .unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].flag_id, lac_id);
    assert!(moved[0].moved);
    let day = "2026-03-01".parse().unwrap();
    assert!(
        safeguarding::active_flags(&mut h.store, &retired, day)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        safeguarding::active_flags(&mut h.store, survivor, day).unwrap()[0].id,
        lac_id
    );
    let inbox = safeguarding::inbox(&mut h.store, LEEDS, 0, 100).unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].kind, "identity-change");
    let body: serde_json::Value = serde_json::from_str(&inbox[0].payload).unwrap();
    assert_eq!(body["cci"], survivor);
    assert_eq!(body["previous_cci"], retired.as_str());
    assert_eq!(body["flag_reference"], "LAC-77");
    // The survivor's next ED attendance now notifies.
    let ed = encounter(survivor, "ED-1", CareSetting::EmergencyDepartment);
    let outcome = safeguarding::record_encounter(&mut h.store, &ed, now()).unwrap();
    assert_eq!(outcome.notifications.len(), 1);
    // Nothing left to move; re-pointing to itself is refused.
    assert!(
        safeguarding::repoint_flags(&mut h.store, &retired, survivor, "again", now())
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        safeguarding::repoint_flags(&mut h.store, survivor, survivor, "x", now()),
        Err(Error::SameChild(_))
    ));
}

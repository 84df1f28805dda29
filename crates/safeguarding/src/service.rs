//! The operations the server calls: publish and end flags, record encounters and views (with
//! their notifications in the same transaction), read flags with their access log, the inbox,
//! and re-point flags after a merge.

use jiff::Timestamp;
use jiff::civil::Date;
use store::Store;
use store::safeguarding::{
    EncounterRecord, FlagAccess, FlagRecord, FlagWrite, NewNotification, NotificationRow,
    SafeguardingConn, StoredFlag,
};

use crate::Error;
use crate::flag::{Contact, Flag, FlagKind, LocalAuthority, PublishFlag, parse_cci};
use crate::notify::{
    Encounter, NotifyPolicy, PlannedNotification, Viewer, attendance_notifications,
    identity_change_notification, view_notifications,
};
use crate::setting::england_date;

/// How many past views are returned with a flag.
pub const ACCESS_LOG_LENGTH: i64 = 25;

/// What publishing a flag did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub flag_id: i64,
    pub write: FlagWrite,
}

/// A flag with its store id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagEntry {
    pub id: i64,
    pub flag: Flag,
}

/// A flag as a viewer sees it: the flag, who saw it lately, and how fresh its source is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownFlag {
    pub id: i64,
    pub flag: Flag,
    /// The latest views, newest first (this one included), at most [`ACCESS_LOG_LENGTH`].
    pub recent_accesses: Vec<FlagAccess>,
    /// How long since the publishing system last changed the flag.
    pub freshness: jiff::SignedDuration,
}

/// What recording an encounter did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncounterOutcome {
    /// `None` when the same encounter (source organisation, local id) was recorded before.
    pub encounter_id: Option<i64>,
    /// The flags in force at the encounter, for the clinician to see whatever the setting.
    pub flags: Vec<FlagEntry>,
    /// Notifications queued by this call (empty for a re-sent encounter).
    pub notifications: Vec<i64>,
}

/// What viewing a child's flags did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewOutcome {
    pub flags: Vec<ShownFlag>,
    /// Notifications queued by this view (empty when the encounter already notified).
    pub notifications: Vec<i64>,
}

/// A flag moved by [`repoint_flags`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repointed {
    pub flag_id: i64,
    /// `false` when the survivor already had the same flag (same owner, kind and reference):
    /// the retired copy stays under the retired CCI, which resolves to the survivor.
    pub moved: bool,
    pub notification: Option<i64>,
}

/// The request to end a flag, keyed as it was published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndFlag {
    pub la_code: String,
    pub kind: String,
    pub cci: String,
    pub reference: String,
    pub end_date: Date,
    pub source_updated_at: Timestamp,
}

/// The stored text of an instant: UTC with milliseconds, fixed width, so that the store can
/// compare two instants as text (`…09:00:00.500Z` must sort after `…09:00:00.000Z`).
pub fn stored_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn record_of(flag: &Flag, received_at: Timestamp) -> FlagRecord {
    FlagRecord {
        cci: flag.cci.clone(),
        kind: flag.kind.as_str().to_string(),
        la_code: flag.owner.code.clone(),
        la_name: flag.owner.name.clone(),
        reference: flag.reference.clone(),
        office_phone: flag.office_hours.phone.clone(),
        office_email: flag.office_hours.email.clone(),
        ooh_phone: flag.out_of_hours.phone.clone(),
        ooh_email: flag.out_of_hours.email.clone(),
        start_date: flag.start_date.to_string(),
        end_date: flag.end_date.map(|d| d.to_string()),
        source_updated_at: stored_time(flag.source_updated_at),
        received_at: stored_time(received_at),
    }
}

fn stored_value<T: std::str::FromStr>(column: &'static str, value: &str) -> Result<T, Error> {
    value.parse().map_err(|_| Error::Stored {
        column,
        value: value.to_string(),
    })
}

/// Reads a stored flag back into the domain type.
pub fn flag_of(stored: &StoredFlag) -> Result<FlagEntry, Error> {
    let row = &stored.flag;
    Ok(FlagEntry {
        id: stored.id,
        flag: Flag {
            cci: row.cci.clone(),
            kind: row.kind.parse::<FlagKind>()?,
            owner: LocalAuthority {
                code: row.la_code.clone(),
                name: row.la_name.clone(),
            },
            office_hours: Contact {
                phone: row.office_phone.clone(),
                email: row.office_email.clone(),
            },
            out_of_hours: Contact {
                phone: row.ooh_phone.clone(),
                email: row.ooh_email.clone(),
            },
            start_date: stored_value("start_date", &row.start_date)?,
            end_date: row
                .end_date
                .as_deref()
                .map(|d| stored_value("end_date", d))
                .transpose()?,
            reference: row.reference.clone(),
            source_updated_at: stored_value("source_updated_at", &row.source_updated_at)?,
        },
    })
}

fn entries(stored: &[StoredFlag]) -> Result<Vec<FlagEntry>, Error> {
    stored.iter().map(flag_of).collect()
}

fn pairs(flags: &[FlagEntry]) -> Vec<(i64, Flag)> {
    flags.iter().map(|e| (e.id, e.flag.clone())).collect()
}

fn queue(
    tx: &mut SafeguardingConn<'_>,
    planned: &[PlannedNotification],
    now: Timestamp,
) -> Result<Vec<i64>, Error> {
    let mut ids = Vec::new();
    for notification in planned {
        let payload = serde_json::to_string(&notification.body).map_err(Error::Json)?;
        let id = tx.add_notification(&NewNotification {
            dedup_key: notification.dedup_key.clone(),
            la_code: notification.la_code.clone(),
            kind: notification.kind.as_str().to_string(),
            flag_id: notification.flag_id,
            cci: notification.cci.clone(),
            created_at: stored_time(now),
            payload,
            // Due at once: the worker picks it up on its next pass.
            next_attempt_at: now.as_millisecond(),
        })?;
        ids.extend(id);
    }
    Ok(ids)
}

/// Validates and stores a flag (insert, or update of the same owner + kind + child +
/// reference). A version older at its source than the stored one is ignored.
pub fn publish_flag(
    store: &mut Store,
    input: PublishFlag,
    now: Timestamp,
) -> Result<Published, Error> {
    let flag = Flag::validate(input)?;
    let (flag_id, write) = store.safeguarding_tx(|tx| tx.upsert_flag(&record_of(&flag, now)))?;
    Ok(Published { flag_id, write })
}

/// Ends a published flag on `end_date` (the flag applies up to and including that day). A
/// request older at its source than the stored flag changes nothing ([`FlagWrite::Older`]).
pub fn end_flag(store: &mut Store, request: &EndFlag, now: Timestamp) -> Result<Published, Error> {
    let cci = parse_cci(&request.cci)?;
    let kind: FlagKind = request.kind.parse()?;
    store.safeguarding_tx(|tx| {
        let stored = tx
            .flag_by_key(&request.la_code, kind.as_str(), &cci, &request.reference)?
            .ok_or_else(|| Error::NoSuchFlag {
                la_code: request.la_code.clone(),
                kind,
                cci: cci.clone(),
                reference: request.reference.clone(),
            })?;
        let entry = flag_of(&stored)?;
        if request.end_date < entry.flag.start_date {
            return Err(Error::EndBeforeStart {
                start: entry.flag.start_date,
                end: request.end_date,
            });
        }
        let write = if request.source_updated_at < entry.flag.source_updated_at {
            FlagWrite::Older
        } else if entry.flag.end_date == Some(request.end_date) {
            FlagWrite::Unchanged
        } else {
            tx.end_flag(
                stored.id,
                &request.end_date.to_string(),
                &stored_time(request.source_updated_at),
                &stored_time(now),
            )?;
            FlagWrite::Updated
        };
        Ok(Published {
            flag_id: stored.id,
            write,
        })
    })
}

/// A child's flags in force on `date` (a date in England).
pub fn active_flags(store: &mut Store, cci: &str, date: Date) -> Result<Vec<FlagEntry>, Error> {
    let cci = parse_cci(cci)?;
    entries(&store.safeguarding().active_flags(&cci, &date.to_string())?)
}

/// Records an encounter and, in the same transaction, the notifications it causes. A re-sent
/// encounter (same source organisation and local id) records and notifies nothing again.
pub fn record_encounter(
    store: &mut Store,
    encounter: &Encounter,
    now: Timestamp,
) -> Result<EncounterOutcome, Error> {
    let cci = parse_cci(&encounter.cci)?;
    const IDENTITY: &str = "an encounter is known by its sending organisation and local id";
    for (field, value, why) in [
        (
            "encounter.source_org",
            &encounter.reference.source_org,
            IDENTITY,
        ),
        (
            "encounter.local_id",
            &encounter.reference.local_id,
            IDENTITY,
        ),
        (
            "organisation.code",
            &encounter.organisation.code,
            "a notification names the attending organisation",
        ),
    ] {
        if value.trim().is_empty() {
            return Err(Error::Missing { field, why });
        }
    }
    let encounter = Encounter {
        cci,
        ..encounter.clone()
    };
    store.safeguarding_tx(|tx| {
        let date = england_date(encounter.started_at).to_string();
        let flags = entries(&tx.active_flags(&encounter.cci, &date)?)?;
        let encounter_id = tx.insert_encounter(&EncounterRecord {
            source_org: encounter.reference.source_org.clone(),
            local_id: encounter.reference.local_id.clone(),
            cci: encounter.cci.clone(),
            setting: encounter.setting.as_str().to_string(),
            org_code: encounter.organisation.code.clone(),
            org_name: encounter.organisation.name.clone(),
            started_at: stored_time(encounter.started_at),
            received_at: stored_time(now),
        })?;
        let notifications = match encounter_id {
            Some(_) => queue(
                tx,
                &attendance_notifications(&encounter, &pairs(&flags)),
                now,
            )?,
            None => Vec::new(),
        };
        Ok(EncounterOutcome {
            encounter_id,
            flags,
            notifications,
        })
    })
}

/// A practitioner opens a child's record: every flag in force is shown with its last views
/// and freshness, each view is logged, and a notifying role in unscheduled care notifies the
/// owner (once per encounter and flag).
pub fn view_flags(
    store: &mut Store,
    policy: &NotifyPolicy,
    viewer: &Viewer,
    cci: &str,
    now: Timestamp,
) -> Result<ViewOutcome, Error> {
    let cci = parse_cci(cci)?;
    store.safeguarding_tx(|tx| {
        let date = england_date(now).to_string();
        let flags = entries(&tx.active_flags(&cci, &date)?)?;
        let mut shown = Vec::with_capacity(flags.len());
        for entry in &flags {
            tx.add_access(&FlagAccess {
                flag_id: entry.id,
                viewer: viewer.user.clone(),
                org_code: viewer.organisation.code.clone(),
                role: viewer.role.clone(),
                setting: viewer.setting.as_str().to_string(),
                at: stored_time(now),
            })?;
            shown.push(ShownFlag {
                id: entry.id,
                flag: entry.flag.clone(),
                recent_accesses: tx.recent_accesses(entry.id, ACCESS_LOG_LENGTH)?,
                freshness: now.duration_since(entry.flag.source_updated_at),
            });
        }
        let planned = view_notifications(viewer, policy, &cci, &pairs(&flags), now);
        let notifications = queue(tx, &planned, now)?;
        Ok(ViewOutcome {
            flags: shown,
            notifications,
        })
    })
}

/// Moves every flag of a retired CCI to its survivor (after a merge, or to the new CCI after a
/// split), and tells each owning authority in the same transaction. The registry calls this
/// when it retires a person.
pub fn repoint_flags(
    store: &mut Store,
    from_cci: &str,
    to_cci: &str,
    reason: &str,
    now: Timestamp,
) -> Result<Vec<Repointed>, Error> {
    let from = parse_cci(from_cci)?;
    let to = parse_cci(to_cci)?;
    if from == to {
        return Err(Error::SameChild(from));
    }
    if reason.trim().is_empty() {
        return Err(Error::Missing {
            field: "reason",
            why: "a re-pointed flag tells its owner why the child's identifier changed",
        });
    }
    store.safeguarding_tx(|tx| repoint_in(tx, &from, &to, reason, now))
}

/// [`repoint_flags`] inside a caller's transaction (the registry's merge), with identifiers
/// already checked by the caller.
pub fn repoint_flags_in(
    tx: &mut SafeguardingConn<'_>,
    from_cci: &str,
    to_cci: &str,
    reason: &str,
    now: Timestamp,
) -> Result<Vec<Repointed>, Error> {
    if from_cci == to_cci {
        return Err(Error::SameChild(from_cci.to_string()));
    }
    repoint_in(tx, from_cci, to_cci, reason, now)
}

fn repoint_in(
    tx: &mut SafeguardingConn<'_>,
    from: &str,
    to: &str,
    reason: &str,
    now: Timestamp,
) -> Result<Vec<Repointed>, Error> {
    {
        let (from, to) = (from.to_string(), to.to_string());
        let mut out = Vec::new();
        for stored in tx.flags_of_child(&from)? {
            let entry = flag_of(&stored)?;
            let flag = &entry.flag;
            let duplicate = tx
                .flag_by_key(&flag.owner.code, flag.kind.as_str(), &to, &flag.reference)?
                .is_some();
            if !duplicate {
                tx.move_flag(entry.id, &to)?;
            }
            let moved_flag = Flag {
                cci: to.clone(),
                ..flag.clone()
            };
            let planned = identity_change_notification(entry.id, &moved_flag, &from, reason, now);
            let notification = queue(tx, &[planned], now)?.into_iter().next();
            out.push(Repointed {
                flag_id: entry.id,
                moved: !duplicate,
                notification,
            });
        }
        Ok(out)
    }
}

/// An authority's notifications after id `after`, oldest first, whatever their delivery state.
pub fn inbox(
    store: &mut Store,
    la_code: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<NotificationRow>, Error> {
    Ok(store.safeguarding().inbox(la_code, after, limit)?)
}

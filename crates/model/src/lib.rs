//! Kith's shared vocabulary: the types every other crate speaks.
//!
//! Agencies describe the same child under their own local identifiers. This crate holds the
//! types that make those descriptions exact before anything is stored or linked:
//!
//! - [`ident`]: the national identifiers with their check characters — [`NhsNumber`]
//!   (Modulus 11), [`Upn`] (Unique Pupil Number, check letter, temporary UPNs) and [`PncId`]
//!   (Police National Computer id). Each parser returns a precise [`IdentError`] naming the
//!   problem and, where one exists, the expected check character.
//! - [`date`]: [`PartialDate`], a date of birth that may be known only to the month or year, or
//!   be an estimate (age-disputed young people), parsed from the formats UK agencies export.
//! - [`postcode`]: [`Postcode`], a UK postcode split into area, district, sector and unit.
//! - [`record`]: what an agency contributes — a [`PersonRecord`], dated [`Entry`] events and
//!   [`Relationship`]s — plus [`Organisation`] and its [`AgencyType`].
//!
//! The crate is pure: no I/O, no clock, no randomness.
//!
//! ```
//! use model::{NhsNumber, Upn, PncId};
//!
//! let nhs: NhsNumber = "943 476 5919".parse().unwrap();
//! assert_eq!(nhs.to_string(), "943 476 5919");
//! assert_eq!(
//!     "9434765918".parse::<NhsNumber>().unwrap_err().to_string(),
//!     "invalid NHS number `9434765918`: check digit should be 9",
//! );
//! assert!("B801200005001".parse::<Upn>().is_ok());
//! assert!("2001/0012345H".parse::<PncId>().is_ok());
//! ```

pub mod columns;
pub mod date;
pub mod ident;
pub mod postcode;
pub mod record;

pub use date::{DateError, DatePrecision, PartialDate};
pub use ident::{IdentError, IdentErrorKind, IdentifierKind, NhsNumber, PncId, Upn};
pub use postcode::Postcode;
pub use record::{
    AgencyType, Entry, Identifier, Organisation, PersonRecord, Relationship, RelationshipKind,
    Sensitivity, Sex,
};

//! The sharing rules as a decision table, against the sample agreements in
//! `config/agreements`. One line per scenario; each builds its own world with one child, so
//! a line can be read on its own.
//!
//! Columns:
//! - `actor`: gp, receptionist (B86001); ed (RR8); sw, eh, analyst (LA383); police (WYP);
//!   dsl (school 107123); housing (HSG1)
//! - `purpose` (or `-`), `holder` (the organisation holding the record), `category`, `tier`
//! - `age` of the child (`?` unknown), `competence` assessment (`yes`, `no`, `-`)
//! - `consent`: `-`, parent, parent_no_pr, child, parent_withdrawn, child_withdrawn,
//!   withdrawn_future, parent_refused, child_refused, expired, other_purpose, other_recipient
//! - `relationship`: `-`, allocated, allocated_other, team, team_other, gp_reg, school,
//!   referral, episode, ended (yesterday), ends_today, future, other_org
//! - `flags`: optout; refuge, adoption, protected; restrict_camhs, restrict_sh; sg, sg8,
//!   sg_empty (safeguarding override); loc_override; bg, bg_expired, bg_other_child
//!   (break-glass grants); at=DATE (decide on another day)
//! - `expect`: permit, permit+override, deny, deny+prompt (consent may be sought)
//! - `check`: `+`-separated: a Cedar rule id that must be among the reasons, or default-deny,
//!   no-agreement, no-purpose, no-relationship, break-glass, sg-override, sg-rejected, consent-set-aside,
//!   opt-out-exemption, location-override, consent:STATE
//! - `withheld`: on a permit, exactly the withheld fields as field:why (profile, sensitive,
//!   restricted), or `-` for none

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Scenario, parse, sample_agreements};
use governance::{
    ConsentState, DataCategory, GovernanceState, Outcome, PolicyEngine, Reason, WithheldWhy, decide,
};

const TABLE: &str = "
# name                                             | actor        | purpose                            | holder | category    | tier        | age | comp | consent          | relationship    | flags                     | expect          | check                                             | withheld
# --- direct care (ISA-LDS-DIRECT-CARE) -----------------------------------------------------------------------------------------------------------------------------------------------------------------------------------
gp sees hospital record in full                    | gp           | direct_care                        | RR8    | health      | full        | 10  | -    | -                | gp_reg          | -                         | permit          | share-for-a-childs-care                           | case_notes:profile,police_incidents:profile
gp summary                                         | gp           | direct_care                        | RR8    | health      | summary     | 10  | -    | -                | gp_reg          | -                         | permit          | share-for-a-childs-care                           | -
gp involvement                                     | gp           | direct_care                        | RR8    | health      | involvement | 10  | -    | -                | gp_reg          | -                         | permit          | share-for-a-childs-care                           | -
gp existence                                       | gp           | direct_care                        | RR8    | health      | existence   | 10  | -    | -                | gp_reg          | -                         | permit          | share-for-a-childs-care                           | -
ed clinician in a current episode                  | ed           | direct_care                        | B86001 | health      | full        | 10  | -    | -                | episode         | -                         | permit          | share-for-a-childs-care                           | case_notes:profile,police_incidents:profile
allocated social worker, health summary            | sw           | direct_care                        | RR8    | health      | summary     | 6   | -    | -                | allocated       | -                         | permit          | share-for-a-childs-care                           | -
social worker, team relationship                   | sw           | direct_care                        | RR8    | health      | summary     | 6   | -    | -                | team            | -                         | permit          | share-for-a-childs-care                           | -
gp with social care record                         | gp           | direct_care                        | LA383  | social_care | involvement | 6   | -    | -                | gp_reg          | -                         | permit          | share-for-a-childs-care                           | -
relationship ending today still counts             | sw           | direct_care                        | RR8    | health      | summary     | 6   | -    | -                | ends_today      | -                         | permit          | share-for-a-childs-care                           | -
child of unknown age, consent not the basis        | gp           | direct_care                        | RR8    | health      | summary     | ?   | -    | -                | gp_reg          | -                         | permit          | share-for-a-childs-care                           | -
gp with no relationship                            | gp           | direct_care                        | RR8    | health      | summary     | 10  | -    | -                | -               | -                         | deny            | default-deny+no-relationship                      | -
relationship ended yesterday                       | sw           | direct_care                        | RR8    | health      | summary     | 10  | -    | -                | ended           | -                         | deny            | default-deny+no-relationship                      | -
relationship not yet started                       | ed           | direct_care                        | B86001 | health      | summary     | 10  | -    | -                | future          | -                         | deny            | default-deny+no-relationship                      | -
relationship held by another organisation          | gp           | direct_care                        | RR8    | health      | summary     | 10  | -    | -                | other_org       | -                         | deny            | default-deny+no-relationship                      | -
child allocated to another worker                  | sw           | direct_care                        | RR8    | health      | summary     | 10  | -    | -                | allocated_other | -                         | deny            | default-deny+no-relationship                      | -
relationship belongs to another team               | sw           | direct_care                        | RR8    | health      | summary     | 10  | -    | -                | team_other      | -                         | deny            | default-deny+no-relationship                      | -
receptionist is not a role in the agreement        | receptionist | direct_care                        | RR8    | health      | existence   | 10  | -    | -                | gp_reg          | -                         | deny            | role-not-in-agreement                             | -
housing has no direct care agreement               | housing      | direct_care                        | RR8    | health      | existence   | 10  | -    | -                | referral        | -                         | deny            | no-agreement+default-deny                         | -
education data not covered                         | gp           | direct_care                        | RR8    | education   | summary     | 10  | -    | -                | gp_reg          | -                         | deny            | no-agreement+default-deny                         | -
school is not a party                              | gp           | direct_care                        | 107123 | health      | summary     | 10  | -    | -                | gp_reg          | -                         | deny            | no-agreement+default-deny                         | -
police have no direct care agreement               | police       | direct_care                        | RR8    | health      | existence   | 10  | -    | -                | referral        | -                         | deny            | no-agreement+default-deny                         | -
no purpose declared                                | gp           | -                                  | RR8    | health      | existence   | 10  | -    | -                | gp_reg          | -                         | deny            | purpose-required+no-purpose                       | -
no purpose, full record                            | sw           | -                                  | RR8    | health      | full        | 10  | -    | -                | allocated       | -                         | deny            | purpose-required+no-purpose                       | -
agreement has ended                                | gp           | direct_care                        | RR8    | health      | summary     | 10  | -    | -                | gp_reg          | at=2028-04-01             | deny            | no-agreement+default-deny                         | -
refuge: location withheld                          | ed           | direct_care                        | B86001 | health      | full        | 10  | -    | -                | episode         | refuge                    | permit          | location-of-a-sensitive-child                     | address:sensitive,postcode:sensitive,school:sensitive,gp_practice:sensitive,case_notes:profile,police_incidents:profile
adoption: location withheld at summary             | ed           | direct_care                        | B86001 | health      | summary     | 4   | -    | -                | episode         | adoption                  | permit          | location-of-a-sensitive-child                     | address:sensitive,postcode:sensitive,school:sensitive,gp_practice:sensitive
protected identity with an explicit override       | ed           | direct_care                        | B86001 | health      | summary     | 4   | -    | -                | episode         | protected,loc_override    | permit+override | location-override+share-for-a-childs-care         | -
refuge: involvement has no location fields         | ed           | direct_care                        | B86001 | health      | involvement | 10  | -    | -                | episode         | refuge                    | permit          | share-for-a-childs-care                           | -
override without a sensitive child changes nothing | ed           | direct_care                        | B86001 | health      | summary     | 10  | -    | -                | episode         | loc_override              | permit          | share-for-a-childs-care                           | -
CAMHS compartment restricted                       | gp           | direct_care                        | RR8    | health      | full        | 15  | -    | -                | gp_reg          | restrict_camhs            | permit          | share-for-a-childs-care                           | camhs:restricted,case_notes:profile,police_incidents:profile
sexual health and CAMHS restricted                 | gp           | direct_care                        | RR8    | health      | full        | 15  | yes  | -                | gp_reg          | restrict_camhs,restrict_sh | permit         | share-for-a-childs-care                           | sexual_health:restricted,camhs:restricted,case_notes:profile,police_incidents:profile
restricted compartment outside the tier            | gp           | direct_care                        | RR8    | health      | summary     | 15  | -    | -                | gp_reg          | restrict_camhs            | permit          | share-for-a-childs-care                           | -
withdrawn consent blocks direct care               | gp           | direct_care                        | RR8    | health      | summary     | 8   | -    | parent_withdrawn | gp_reg          | -                         | deny            | consent-refused-or-withdrawn+consent:withdrawn    | -
parent refused direct care sharing                 | gp           | direct_care                        | RR8    | health      | summary     | 8   | -    | parent_refused   | gp_reg          | -                         | deny            | consent-refused-or-withdrawn+consent:refused      | -
competent 16-year-old refused                      | gp           | direct_care                        | RR8    | health      | summary     | 16  | -    | child_refused    | gp_reg          | -                         | deny            | consent-refused-or-withdrawn+consent:refused      | -
withdrawn, but safeguarding override recorded      | gp           | direct_care                        | RR8    | health      | summary     | 8   | -    | parent_withdrawn | gp_reg          | sg                        | permit+override | sg-override+share-for-a-childs-care+consent-set-aside | -
withdrawn, override without a reason               | gp           | direct_care                        | RR8    | health      | summary     | 8   | -    | parent_withdrawn | gp_reg          | sg_empty                  | deny            | sg-rejected+consent-refused-or-withdrawn          | -
consent on record though not the basis             | gp           | direct_care                        | RR8    | health      | summary     | 8   | -    | parent           | gp_reg          | -                         | permit          | consent:granted+share-for-a-childs-care           | -
override with nothing to override is not one       | gp           | direct_care                        | RR8    | health      | summary     | 8   | -    | -                | gp_reg          | sg                        | permit          | sg-override+share-for-a-childs-care               | -
opt-out never applies to direct care               | gp           | direct_care                        | RR8    | health      | summary     | 8   | -    | -                | gp_reg          | optout                    | permit          | share-for-a-childs-care                           | -
break-glass stands in for a relationship           | ed           | direct_care                        | B86001 | health      | summary     | 3   | -    | -                | -               | bg                        | permit+override | break-glass+share-under-break-glass               | -
break-glass reaches no further than summary        | ed           | direct_care                        | B86001 | health      | full        | 3   | -    | -                | -               | bg                        | deny            | default-deny                                      | -
expired break-glass grant                          | ed           | direct_care                        | B86001 | health      | summary     | 3   | -    | -                | -               | bg_expired                | deny            | default-deny+no-relationship                      | -
break-glass for another child                      | ed           | direct_care                        | B86001 | health      | summary     | 3   | -    | -                | -               | bg_other_child            | deny            | default-deny+no-relationship                      | -
break-glass unused when a relationship exists      | ed           | direct_care                        | B86001 | health      | summary     | 3   | -    | -                | episode         | bg                        | permit          | share-for-a-childs-care                           | -
break-glass does not beat a withdrawal             | ed           | direct_care                        | B86001 | health      | summary     | 3   | -    | parent_withdrawn | -               | bg                        | deny            | consent-refused-or-withdrawn                      | -
# --- section 47 enquiries (ISA-LDS-MASH, ISA-WYP-SAFEGUARDING) -------------------------------------------------------------------------------------------------------------------------------------------------------------
allocated social worker, s47, full                 | sw           | safeguarding_s47                   | B86001 | health      | full        | 9   | -    | -                | allocated       | -                         | permit          | share-for-a-childs-care                           | police_incidents:profile,sexual_health:profile,camhs:profile
s47 on a referral, summary                         | sw           | safeguarding_s47                   | B86001 | health      | summary     | 9   | -    | -                | referral        | -                         | permit          | share-for-a-childs-care                           | -
s47 despite withdrawn consent                      | sw           | safeguarding_s47                   | B86001 | health      | full        | 9   | -    | parent_withdrawn | allocated       | -                         | permit          | consent:withdrawn+share-for-a-childs-care+consent-set-aside | police_incidents:profile,sexual_health:profile,camhs:profile
s47 despite refusal                                | sw           | safeguarding_s47                   | B86001 | health      | summary     | 9   | -    | parent_refused   | allocated       | -                         | permit          | consent:refused                                   | -
s47 despite a competent 16-year-old's refusal      | sw           | safeguarding_s47                   | B86001 | health      | summary     | 16  | -    | child_refused    | allocated       | -                         | permit          | consent:refused                                   | -
s47 despite a Gillick-competent 14-year-old        | sw           | safeguarding_s47                   | RR8    | health      | summary     | 14  | yes  | child_withdrawn  | allocated       | -                         | permit          | consent:withdrawn                                 | -
s47 without a relationship                         | sw           | safeguarding_s47                   | B86001 | health      | summary     | 9   | -    | -                | -               | -                         | deny            | default-deny+no-relationship                      | -
school DSL, s47, health record                     | dsl          | safeguarding_s47                   | B86001 | health      | summary     | 9   | -    | -                | school          | -                         | permit          | share-for-a-childs-care                           | -
school DSL sees social care involvement            | dsl          | safeguarding_s47                   | LA383  | social_care | involvement | 9   | -    | -                | school          | -                         | permit          | share-for-a-childs-care                           | -
social worker sees school record                   | sw           | safeguarding_s47                   | 107123 | education   | summary     | 9   | -    | -                | allocated       | -                         | permit          | share-for-a-childs-care                           | -
gp sees social care record in full                 | gp           | safeguarding_s47                   | LA383  | social_care | full        | 9   | -    | -                | gp_reg          | -                         | permit          | share-for-a-childs-care                           | police_incidents:profile,sexual_health:profile,camhs:profile
analyst cannot use s47                             | analyst      | safeguarding_s47                   | B86001 | health      | existence   | 9   | -    | -                | -               | -                         | deny            | role-not-in-agreement                             | -
police s47 under Schedule 8                        | police       | safeguarding_s47                   | RR8    | health      | summary     | 9   | -    | -                | referral        | -                         | permit          | share-for-a-childs-care                           | school:profile,gp_practice:profile,open_episodes:profile
police s47 stops at summary                        | police       | safeguarding_s47                   | RR8    | health      | full        | 9   | -    | -                | referral        | -                         | deny            | default-deny                                      | -
police: GP practice not a party                    | police       | safeguarding_s47                   | B86001 | health      | summary     | 9   | -    | -                | referral        | -                         | deny            | no-agreement+default-deny                         | -
police s47 despite withdrawn consent               | police       | safeguarding_s47                   | LA383  | social_care | involvement | 9   | -    | parent_withdrawn | referral        | -                         | permit          | consent:withdrawn+share-for-a-childs-care+consent-set-aside | -
s47, refuge child: location withheld               | sw           | safeguarding_s47                   | B86001 | health      | summary     | 9   | -    | -                | allocated       | refuge                    | permit          | location-of-a-sensitive-child                     | address:sensitive,postcode:sensitive,school:sensitive,gp_practice:sensitive
s47, refuge child with an override                 | sw           | safeguarding_s47                   | B86001 | health      | summary     | 9   | -    | -                | allocated       | refuge,loc_override       | permit+override | location-override                                 | -
s47 under break-glass                              | sw           | safeguarding_s47                   | RR8    | health      | summary     | 9   | -    | -                | -               | bg                        | permit+override | break-glass+share-under-break-glass               | -
opt-out never applies to safeguarding              | sw           | safeguarding_s47                   | RR8    | health      | summary     | 9   | -    | -                | allocated       | optout                    | permit          | share-for-a-childs-care                           | -
s47 after the agreement period                     | sw           | safeguarding_s47                   | RR8    | health      | summary     | 9   | -    | -                | allocated       | at=2028-04-02             | deny            | no-agreement                                      | -
# --- section 17 assessments (ISA-LDS-MASH) -----------------------------------------------------------------------------------------------------------------------------------------------------------------------------------
s17 summary                                        | sw           | child_in_need_s17                  | B86001 | health      | summary     | 7   | -    | -                | allocated       | -                         | permit          | share-for-a-childs-care                           | open_episodes:profile
s17 stops at summary                               | sw           | child_in_need_s17                  | B86001 | health      | full        | 7   | -    | -                | allocated       | -                         | deny            | default-deny                                      | -
s17 with withdrawn consent                         | sw           | child_in_need_s17                  | B86001 | health      | summary     | 7   | -    | parent_withdrawn | allocated       | -                         | deny            | consent-refused-or-withdrawn                      | -
s17 withdrawn, safeguarding override               | sw           | child_in_need_s17                  | B86001 | health      | summary     | 7   | -    | parent_withdrawn | allocated       | sg                        | permit+override | sg-override                                       | open_episodes:profile
s17 with consent on record                         | sw           | child_in_need_s17                  | B86001 | health      | involvement | 7   | -    | parent           | allocated       | -                         | permit          | consent:granted                                   | -
s17 override on the police basis is rejected       | sw           | child_in_need_s17                  | B86001 | health      | summary     | 7   | -    | parent_withdrawn | allocated       | sg8                       | deny            | sg-rejected+consent-refused-or-withdrawn          | -
school DSL is not an s17 role                      | dsl          | child_in_need_s17                  | B86001 | health      | existence   | 7   | -    | -                | school          | -                         | deny            | role-not-in-agreement                             | -
s17 needs no consent prompt                        | sw           | child_in_need_s17                  | RR8    | health      | summary     | 7   | -    | -                | allocated       | -                         | permit          | share-for-a-childs-care                           | open_episodes:profile
s17 parent refused                                 | sw           | child_in_need_s17                  | RR8    | health      | summary     | 7   | -    | parent_refused   | allocated       | -                         | deny            | consent-refused-or-withdrawn+consent:refused      | -
# --- early help: consent is the basis (ISA-LDS-EARLY-HELP) --------------------------------------------------------------------------------------------------------------------------------------------------------------------
early help with parent's consent                   | eh           | early_help                         | B86001 | health      | summary     | 8   | -    | parent           | team            | -                         | permit          | consent:granted+share-for-a-childs-care           | gp_practice:profile,open_episodes:profile
early help without consent                         | eh           | early_help                         | B86001 | health      | summary     | 8   | -    | -                | team            | -                         | deny+prompt     | consent-basis-without-consent+consent:none        | -
early help, consent withdrawn                      | eh           | early_help                         | B86001 | health      | summary     | 8   | -    | parent_withdrawn | team            | -                         | deny            | consent-refused-or-withdrawn+consent-basis-without-consent | -
early help, parent refused                         | eh           | early_help                         | B86001 | health      | summary     | 8   | -    | parent_refused   | team            | -                         | deny            | consent-refused-or-withdrawn+consent:refused      | -
parent without parental responsibility             | eh           | early_help                         | B86001 | health      | summary     | 8   | -    | parent_no_pr     | team            | -                         | deny+prompt     | consent:invalid                                   | -
16-year-old consents for themself                  | eh           | early_help                         | B86001 | health      | summary     | 16  | -    | child            | team            | -                         | permit          | consent:granted                                   | gp_practice:profile,open_episodes:profile
17-year-old consents for themself                  | eh           | early_help                         | 107123 | education   | involvement | 17  | -    | child            | team            | -                         | permit          | consent:granted                                   | -
parent cannot consent for a 16-year-old            | eh           | early_help                         | B86001 | health      | summary     | 16  | -    | parent           | team            | -                         | deny+prompt     | consent:invalid                                   | -
17-year-old assessed not competent: parent decides | eh           | early_help                         | B86001 | health      | summary     | 17  | no   | parent           | team            | -                         | permit          | consent:granted                                   | gp_practice:profile,open_episodes:profile
17-year-old assessed not competent cannot consent  | eh           | early_help                         | B86001 | health      | summary     | 17  | no   | child            | team            | -                         | deny+prompt     | consent:invalid                                   | -
14-year-old, no assessment, own consent            | eh           | early_help                         | B86001 | health      | summary     | 14  | -    | child            | team            | -                         | deny+prompt     | consent:invalid                                   | -
14-year-old assessed competent                     | eh           | early_help                         | B86001 | health      | summary     | 14  | yes  | child            | team            | -                         | permit          | consent:granted                                   | gp_practice:profile,open_episodes:profile
parent cannot consent for a competent 14-year-old  | eh           | early_help                         | B86001 | health      | summary     | 14  | yes  | parent           | team            | -                         | deny+prompt     | consent:invalid                                   | -
14-year-old, no assessment: parent consents        | eh           | early_help                         | B86001 | health      | summary     | 14  | -    | parent           | team            | -                         | permit          | consent:granted                                   | gp_practice:profile,open_episodes:profile
12-year-old, no assessment: parent consents        | eh           | early_help                         | B86001 | health      | involvement | 12  | -    | parent           | team            | -                         | permit          | consent:granted                                   | -
12-year-old's own consent, no assessment           | eh           | early_help                         | B86001 | health      | involvement | 12  | -    | child            | team            | -                         | deny+prompt     | consent:invalid                                   | -
10-year-old's own consent                          | eh           | early_help                         | B86001 | health      | summary     | 10  | -    | child            | team            | -                         | deny+prompt     | consent:invalid                                   | -
10-year-old, parent consents                       | eh           | early_help                         | B86001 | health      | summary     | 10  | -    | parent           | team            | -                         | permit          | consent:granted                                   | gp_practice:profile,open_episodes:profile
11-year-old assessed competent (Gillick)           | eh           | early_help                         | B86001 | health      | summary     | 11  | yes  | child            | team            | -                         | permit          | consent:granted                                   | gp_practice:profile,open_episodes:profile
age unknown, parent consents                       | eh           | early_help                         | B86001 | health      | summary     | ?   | -    | parent           | team            | -                         | permit          | consent:granted                                   | gp_practice:profile,open_episodes:profile
age unknown, child's own consent                   | eh           | early_help                         | B86001 | health      | summary     | ?   | -    | child            | team            | -                         | deny+prompt     | consent:invalid                                   | -
expired consent                                    | eh           | early_help                         | B86001 | health      | summary     | 8   | -    | expired          | team            | -                         | deny+prompt     | consent:none                                      | -
consent for another purpose                        | eh           | early_help                         | B86001 | health      | summary     | 8   | -    | other_purpose    | team            | -                         | deny+prompt     | consent:none                                      | -
consent for another recipient                      | eh           | early_help                         | B86001 | health      | summary     | 8   | -    | other_recipient  | team            | -                         | deny+prompt     | consent:none                                      | -
16-year-old withdrew                               | eh           | early_help                         | B86001 | health      | summary     | 16  | -    | child_withdrawn  | team            | -                         | deny            | consent-refused-or-withdrawn+consent:withdrawn    | -
withdrawal dated next month not yet effective      | eh           | early_help                         | B86001 | health      | summary     | 8   | -    | withdrawn_future | team            | -                         | permit          | consent:granted                                   | gp_practice:profile,open_episodes:profile
no consent, safeguarding override                  | eh           | early_help                         | B86001 | health      | summary     | 8   | -    | -                | team            | sg                        | permit+override | sg-override+consent-set-aside | gp_practice:profile,open_episodes:profile
15-year-old withdrew, safeguarding override        | eh           | early_help                         | B86001 | health      | summary     | 15  | yes  | child_withdrawn  | team            | sg                        | permit+override | sg-override+consent:withdrawn                     | gp_practice:profile,open_episodes:profile
early help stops at summary                        | eh           | early_help                         | B86001 | health      | full        | 8   | -    | parent           | team            | -                         | deny            | default-deny                                      | -
early help involvement                             | eh           | early_help                         | B86001 | health      | involvement | 8   | -    | parent           | team            | -                         | permit          | consent:granted                                   | -
consent but no relationship                        | eh           | early_help                         | B86001 | health      | summary     | 8   | -    | parent           | -               | -                         | deny            | default-deny+no-relationship                      | -
school DSL in early help                           | dsl          | early_help                         | B86001 | health      | involvement | 8   | -    | parent           | school          | -                         | permit          | consent:granted                                   | -
police data not in the early help agreement        | eh           | early_help                         | WYP    | police      | existence   | 8   | -    | parent           | team            | -                         | deny            | no-agreement                                      | -
early help, refuge child                           | eh           | early_help                         | B86001 | health      | summary     | 8   | -    | parent           | team            | refuge                    | permit          | consent:granted+location-of-a-sensitive-child     | gp_practice:profile,open_episodes:profile,address:sensitive,postcode:sensitive,school:sensitive
early help agreement has ended                     | eh           | early_help                         | B86001 | health      | summary     | 8   | -    | parent           | team            | at=2027-02-15             | deny            | no-agreement+default-deny                         | -
# --- secondary uses: Supporting Families, evaluation, research (ISA-LDS-SUPPORTING-FAMILIES) ------------------------------------------------------------------------------------------------------------------------------
analyst identifies a family from GP data           | analyst      | supporting_families_identification | B86001 | health      | summary     | 10  | -    | -                | -               | -                         | permit          | share-for-a-secondary-use                         | lead_practitioner:profile,lead_agency:profile,last_contact:profile,address:profile,school:profile,gp_practice:profile
opt-out blocks SF identification from health data  | analyst      | supporting_families_identification | B86001 | health      | summary     | 10  | -    | -                | -               | optout                    | deny            | national-data-opt-out                             | -
opt-out blocks even existence                      | analyst      | supporting_families_identification | B86001 | health      | existence   | 10  | -    | -                | -               | optout                    | deny            | national-data-opt-out                             | -
opt-out does not cover school data                 | analyst      | supporting_families_identification | 107123 | education   | summary     | 10  | -    | -                | -               | optout                    | permit          | share-for-a-secondary-use                         | lead_practitioner:profile,lead_agency:profile,last_contact:profile,address:profile,school:profile,gp_practice:profile
opt-out does not cover police data                 | analyst      | supporting_families_identification | WYP    | police      | involvement | 10  | -    | -                | -               | optout                    | permit          | share-for-a-secondary-use                         | lead_practitioner:profile,lead_agency:profile,last_contact:profile
housing data for SF identification                 | analyst      | supporting_families_identification | HSG1   | housing     | existence   | 10  | -    | -                | -               | -                         | permit          | share-for-a-secondary-use                         | -
SF identification stops at summary                 | analyst      | supporting_families_identification | B86001 | health      | full        | 10  | -    | -                | -               | -                         | deny            | default-deny                                      | -
social worker is not an SF role                    | sw           | supporting_families_identification | B86001 | health      | summary     | 10  | -    | -                | allocated       | -                         | deny            | role-not-in-agreement                             | -
SF identification with consent withdrawn           | analyst      | supporting_families_identification | B86001 | health      | summary     | 10  | -    | parent_withdrawn | -               | -                         | deny            | consent-refused-or-withdrawn                      | -
SF before the agreement starts                     | analyst      | supporting_families_identification | B86001 | health      | summary     | 10  | -    | -                | -               | at=2026-03-01             | deny            | no-agreement+default-deny                         | -
evaluation uses the s251 exemption                 | analyst      | evaluation                         | B86001 | health      | summary     | 10  | -    | -                | -               | optout                    | permit          | opt-out-exemption+share-for-a-secondary-use       | lead_practitioner:profile,name:profile,address:profile,school:profile,gp_practice:profile,safeguarding_flags:profile
evaluation, child not opted out                    | analyst      | evaluation                         | B86001 | health      | involvement | 10  | -    | -                | -               | -                         | permit          | share-for-a-secondary-use                         | lead_practitioner:profile
research blocked by the opt-out                    | analyst      | research_planning                  | B86001 | health      | involvement | 10  | -    | -                | -               | optout                    | deny            | national-data-opt-out                             | -
research on health data                            | analyst      | research_planning                  | B86001 | health      | involvement | 10  | -    | -                | -               | -                         | permit          | share-for-a-secondary-use                         | lead_practitioner:profile
research stops at involvement                      | analyst      | research_planning                  | B86001 | health      | summary     | 10  | -    | -                | -               | -                         | deny            | default-deny                                      | -
research on social care data despite opt-out       | analyst      | research_planning                  | LA383  | social_care | existence   | 10  | -    | -                | -               | optout                    | permit          | share-for-a-secondary-use                         | -
analyst with no purpose                            | analyst      | -                                  | B86001 | health      | existence   | 10  | -    | -                | -               | -                         | deny            | purpose-required+no-purpose                       | -
secondary use ignores a break-glass grant          | analyst      | research_planning                  | B86001 | health      | involvement | 10  | -    | -                | -               | optout,bg                 | deny            | national-data-opt-out                             | -
";

#[derive(Debug)]
struct Row {
    line: usize,
    name: String,
    scenario: Scenario,
    expect: String,
    checks: Vec<String>,
    withheld: Vec<String>,
}

fn rows() -> Vec<Row> {
    let mut out = Vec::new();
    for (i, line) in TABLE.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(cols.len(), 14, "line {}: {line}", i + 1);
        let list = |s: &str| -> Vec<String> {
            if s == "-" {
                vec![]
            } else {
                s.split([',', '+']).map(|x| x.trim().to_string()).collect()
            }
        };
        out.push(Row {
            line: i + 1,
            name: cols[0].to_string(),
            scenario: Scenario {
                actor: cols[1].into(),
                purpose: (cols[2] != "-").then(|| parse(cols[2])),
                holder: cols[3].into(),
                category: parse(cols[4]),
                tier: parse(cols[5]),
                age: (cols[6] != "?").then(|| cols[6].parse().unwrap()),
                competence: match cols[7] {
                    "yes" => Some(true),
                    "no" => Some(false),
                    _ => None,
                },
                consent: cols[8].into(),
                relationship: cols[9].into(),
                flags: list(cols[10]),
            },
            expect: cols[11].into(),
            checks: cols[12].split('+').map(|s| s.trim().to_string()).collect(),
            withheld: list(cols[13]),
        });
    }
    out
}

fn check_reason(decision: &governance::Decision, check: &str) -> bool {
    let r = &decision.reasons;
    let any = |f: &dyn Fn(&Reason) -> bool| r.iter().any(f);
    match check {
        "default-deny" => any(&|r| matches!(r, Reason::DefaultDeny)),
        "no-agreement" => any(&|r| matches!(r, Reason::NoAgreement { .. })),
        "no-purpose" => any(&|r| matches!(r, Reason::NoPurpose)),
        "no-relationship" => any(&|r| matches!(r, Reason::NoRelationship)),
        "break-glass" => any(&|r| matches!(r, Reason::BreakGlass { .. })),
        "sg-override" => any(&|r| matches!(r, Reason::SafeguardingOverride { .. })),
        "consent-set-aside" => any(&|r| matches!(r, Reason::ConsentSetAside { .. })),
        "sg-rejected" => any(&|r| matches!(r, Reason::SafeguardingOverrideRejected { .. })),
        "opt-out-exemption" => any(&|r| matches!(r, Reason::OptOutExemption { .. })),
        "location-override" => any(&|r| matches!(r, Reason::LocationOverride { .. })),
        c if c.starts_with("consent:") => {
            let want = &c["consent:".len()..];
            decision
                .consent()
                .is_some_and(|s: &ConsentState| s.as_str() == want)
        }
        rule => any(&|r| matches!(r, Reason::Rule(x) if x.id == rule)),
    }
}

#[test]
fn decision_table() {
    let agreements = sample_agreements();
    let engine = PolicyEngine::new().unwrap();
    let rows = rows();
    let mut failures = Vec::new();
    let (mut permits, mut denies) = (0, 0);
    for (seq, row) in rows.iter().enumerate() {
        let (records, request) = row.scenario.build(&agreements);
        let state = GovernanceState::from_records(records);
        let decision = decide(&engine, &state, &request, row.scenario.at());
        let mut problems = Vec::new();

        let (outcome, overridden, prompt) = match row.expect.as_str() {
            "permit" => (Outcome::Permit, false, false),
            "permit+override" => (Outcome::Permit, true, false),
            "deny" => (Outcome::Deny, false, false),
            "deny+prompt" => (Outcome::Deny, false, true),
            other => panic!("line {}: unknown expectation `{other}`", row.line),
        };
        match outcome {
            Outcome::Permit => permits += 1,
            Outcome::Deny => denies += 1,
        }
        if decision.outcome != outcome {
            problems.push(format!(
                "outcome {:?}, expected {outcome:?}",
                decision.outcome
            ));
        }
        if decision.overridden != overridden {
            problems.push(format!("overridden {}", decision.overridden));
        }
        if decision.consent_prompt != prompt {
            problems.push(format!("consent_prompt {}", decision.consent_prompt));
        }
        for check in &row.checks {
            if !check_reason(&decision, check) {
                problems.push(format!("missing reason `{check}`"));
            }
        }
        let mut withheld: Vec<String> = decision
            .withheld
            .iter()
            .map(|w| {
                let why = match w.why {
                    WithheldWhy::NotInFieldProfile => "profile",
                    WithheldWhy::SensitivePerson => "sensitive",
                    WithheldWhy::Restricted => "restricted",
                };
                format!("{}:{why}", w.field.as_str())
            })
            .collect();
        let mut expected = row.withheld.clone();
        withheld.sort();
        expected.sort();
        if withheld != expected {
            problems.push(format!("withheld {withheld:?}, expected {expected:?}"));
        }
        // Withheld and disclosed together make up the tier, exactly, on a permit.
        if decision.is_permit() {
            let mut all: Vec<_> = decision
                .disclosed
                .iter()
                .chain(decision.withheld.iter().map(|w| &w.field))
                .copied()
                .collect();
            all.sort();
            let mut tier = request.tier.fields().to_vec();
            tier.sort();
            if all != tier {
                problems.push("disclosed + withheld is not the tier".into());
            }
            if decision.restricted.len()
                != decision
                    .withheld
                    .iter()
                    .filter(|w| w.why == WithheldWhy::Restricted)
                    .count()
            {
                problems.push("restricted compartments do not match".into());
            }
        } else if !decision.disclosed.is_empty() {
            problems.push("a deny disclosed fields".into());
        }
        let entry = decision.ledger_entry(seq as u64);
        let expected_kind = if overridden {
            ledger::EventKind::Override
        } else {
            ledger::EventKind::Decision
        };
        if entry.kind != expected_kind || entry.reasons.len() != decision.reasons.len() {
            problems.push(format!("ledger entry kind {:?}", entry.kind));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "line {} `{}`: {}\n{}",
                row.line,
                row.name,
                problems.join("; "),
                decision.explain()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    assert!(rows.len() >= 100, "only {} scenarios", rows.len());
    assert!(
        permits >= 30 && denies >= 30,
        "{permits} permits, {denies} denies"
    );
    eprintln!(
        "{} scenarios: {permits} permits, {denies} denies",
        rows.len()
    );
}

#[test]
fn every_category_and_purpose_appears_in_the_table() {
    let rows = rows();
    for purpose in governance::Purpose::ALL {
        assert!(
            rows.iter().any(|r| r.scenario.purpose == Some(purpose)),
            "{purpose} has no scenario"
        );
    }
    for category in [
        DataCategory::Health,
        DataCategory::Education,
        DataCategory::SocialCare,
        DataCategory::Police,
        DataCategory::Housing,
    ] {
        assert!(rows.iter().any(|r| r.scenario.category == category));
    }
}

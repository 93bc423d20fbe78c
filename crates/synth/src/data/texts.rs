//! Free text for the bodies of agency records. None of it names anyone.

pub(crate) const DOMESTIC_ABUSE: &[&str] = &[
    "Verbal argument at the address; children present.",
    "Report of assault by partner; injuries noted.",
    "Neighbour reported shouting and banging.",
    "Breach of a non-molestation order.",
    "Threats made by text message and in person.",
];
pub(crate) const VIOLENCE: &[&str] =
    &["Assault in a public place.", "Fight outside licensed premises.", "Robbery of a mobile phone.", "Affray."];
pub(crate) const ARREST: &[&str] = &[
    "Arrested on suspicion of theft.",
    "Arrested for possession with intent to supply.",
    "Arrested for criminal damage.",
    "Arrested for driving while disqualified.",
];
pub(crate) const MISSING: &[&str] =
    &["Reported missing by carer; found next day.", "Missing overnight; returned home of own accord."];
pub(crate) const INTELLIGENCE: &[&str] =
    &["Associating with older males of concern.", "Seen at an address linked to drugs."];

pub(crate) const EMERGENCY_REASONS: &[&str] = &[
    "Head injury after a fall.",
    "Burn to the hand.",
    "Suspected fracture of the wrist.",
    "Ingestion of tablets.",
    "Asthma attack.",
    "Laceration needing sutures.",
    "Alcohol intoxication.",
];
pub(crate) const HEALTH_VISITOR_REASONS: &[&str] =
    &["New birth visit.", "Six to eight week review.", "One year review.", "Two and a half year review."];
pub(crate) const SCHOOL_NURSE_REASONS: &[&str] = &["Drop-in session.", "Enuresis support.", "Emotional health review."];
pub(crate) const MENTAL_HEALTH_REASONS: &[&str] =
    &["Referral for low mood.", "Anxiety; assessment booked.", "Crisis team contact after self-harm."];
pub(crate) const SEXUAL_HEALTH_REASONS: &[&str] = &["Clinic attendance.", "Contraception advice."];
pub(crate) const CLINICAL_NOTES: &[&str] = &["Clinical notes held by the trust.", "See the trust record for details."];

pub(crate) const EXCLUSION_REASONS: &[&str] = &[
    "Persistent disruptive behaviour",
    "Physical assault against a pupil",
    "Verbal abuse against an adult",
    "Damage to property",
];

pub(crate) const REFERRAL: &[&str] =
    &["Referral from school about neglect.", "Referral after police notification.", "Referral from health visitor."];
pub(crate) const CHILD_IN_NEED: &[&str] = &["Section 17 assessment; plan agreed.", "Support with home conditions."];
pub(crate) const CHILD_PROTECTION: &[&str] =
    &["Child protection plan under the category of neglect.", "Plan under emotional abuse."];
pub(crate) const LOOKED_AFTER: &[&str] = &["Accommodated under section 20.", "Care order granted."];

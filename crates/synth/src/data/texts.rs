//! Free text for the bodies of agency records. None of it names anyone.

pub const DOMESTIC_ABUSE: &[&str] = &[
    "Verbal argument at the address; children present.",
    "Report of assault by partner; injuries noted.",
    "Neighbour reported shouting and banging.",
    "Breach of a non-molestation order.",
    "Threats made by text message and in person.",
];
pub const VIOLENCE: &[&str] =
    &["Assault in a public place.", "Fight outside licensed premises.", "Robbery of a mobile phone.", "Affray."];
pub const ARREST: &[&str] = &[
    "Arrested on suspicion of theft.",
    "Arrested for possession with intent to supply.",
    "Arrested for criminal damage.",
    "Arrested for driving while disqualified.",
];
pub const MISSING: &[&str] =
    &["Reported missing by carer; found next day.", "Missing overnight; returned home of own accord."];
pub const INTELLIGENCE: &[&str] = &["Associating with older males of concern.", "Seen at an address linked to drugs."];

pub const EMERGENCY_REASONS: &[&str] = &[
    "Head injury after a fall.",
    "Burn to the hand.",
    "Suspected fracture of the wrist.",
    "Ingestion of tablets.",
    "Asthma attack.",
    "Laceration needing sutures.",
    "Alcohol intoxication.",
];
pub const HEALTH_VISITOR_REASONS: &[&str] =
    &["New birth visit.", "Six to eight week review.", "One year review.", "Two and a half year review."];
pub const SCHOOL_NURSE_REASONS: &[&str] = &["Drop-in session.", "Enuresis support.", "Emotional health review."];
pub const MENTAL_HEALTH_REASONS: &[&str] =
    &["Referral for low mood.", "Anxiety; assessment booked.", "Crisis team contact after self-harm."];
pub const SEXUAL_HEALTH_REASONS: &[&str] = &["Clinic attendance.", "Contraception advice."];
pub const CLINICAL_NOTES: &[&str] = &["Clinical notes held by the trust.", "See the trust record for details."];

pub const EXCLUSION_REASONS: &[&str] = &[
    "Persistent disruptive behaviour",
    "Physical assault against a pupil",
    "Verbal abuse against an adult",
    "Damage to property",
];

pub const REFERRAL: &[&str] =
    &["Referral from school about neglect.", "Referral after police notification.", "Referral from health visitor."];
pub const CHILD_IN_NEED: &[&str] = &["Section 17 assessment; plan agreed.", "Support with home conditions."];
pub const CHILD_PROTECTION: &[&str] =
    &["Child protection plan under the category of neglect.", "Plan under emotional abuse."];
pub const LOOKED_AFTER: &[&str] = &["Accommodated under section 20.", "Care order granted."];

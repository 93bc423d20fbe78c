//! Golden tests: the complete redacted output of whole checks, as a
//! researcher receives it, compared with files under `tests/golden/`.
//! Set `MASH_BLESS=1` to rewrite them after an intended change, and review
//! the diff as you would a policy change.

use std::fmt::Write;

use mash_e2e::{
    Backend, Harness,
    fixtures::{checks, enquiry, subject},
    on_both_backends,
};
use mash_proto::v1::{self as pb, Level, Relation};
use mash_system::demo::{self, AMY, CONNOR, JADE};

on_both_backends!(redacted_output_at_each_level_matches_the_golden_files);

/// The results with the random subject ids replaced by relations.
fn render(enquiry: &pb::Enquiry, results: &pb::RequestChecksResponse) -> String {
    let relation = |id: &str| {
        let subject = enquiry.subjects.iter().find(|s| s.subject_id == id);
        subject.map_or("unknown", |s| s.relation().as_str_name())
    };
    let mut out = String::new();
    for agency in &results.agencies {
        let _ = writeln!(out, "{} {}", agency.agency, agency.status().as_str_name());
        for s in &agency.subjects {
            let _ = writeln!(out, "  {}", relation(&s.subject_id));
            if !s.existence_notice.is_empty() {
                let _ = writeln!(out, "    notice: {}", s.existence_notice);
            }
            for item in &s.items {
                let _ = writeln!(
                    out,
                    "    {} {} {} {}",
                    item.tier().as_str_name(),
                    item.kind().as_str_name(),
                    item.category,
                    item.date
                );
                for f in &item.fields {
                    let _ = writeln!(out, "      {}: {}", f.name, f.value);
                }
            }
        }
    }
    out
}

async fn redacted_output_at_each_level_matches_the_golden_files(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    for (level, name) in [
        (Level::Level3ChildProtection, "level3-household.txt"),
        (Level::Level2ChildInNeed, "level2-household.txt"),
        (Level::Level1EarlyHelp, "level1-household.txt"),
    ] {
        let household = vec![
            subject(AMY, Relation::Child),
            subject(JADE, Relation::ParentOrCarer),
            subject(CONNOR, Relation::OtherAdult),
        ];
        let opened = rita.enquiries.create_enquiry(enquiry(level, household)).await?.into_inner();
        let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
        let actual = render(&opened, &results);
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("golden").join(name);
        if std::env::var_os("MASH_BLESS").is_some() {
            std::fs::write(&path, &actual)?;
        }
        let expected = std::fs::read_to_string(&path)?;
        assert_eq!(actual, expected, "{name} differs; rerun with MASH_BLESS=1 if the change is intended");
    }
    h.stop().await
}

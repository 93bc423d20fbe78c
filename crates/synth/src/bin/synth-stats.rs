//! Times the generator and summarises a population:
//! `synth-stats [people] [seed] [directory]`. With a directory, also writes
//! each agency's extract there as `<agency>.jsonl`, ground truth included.

use std::{collections::BTreeMap, fs::File, path::PathBuf, time::Instant};

use mash_synth::{JsonLines, Kinship, NoiseKind, Settings, SynthError, families, records};

fn main() -> Result<(), SynthError> {
    let mut args = std::env::args().skip(1);
    let people = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let seed = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let directory = args.next().map(PathBuf::from);
    let settings = Settings::new(seed, people);

    let started = Instant::now();
    let (mut family_count, mut person_count, mut twins) = (0, 0, 0);
    for family in families(&settings)? {
        family_count += 1;
        person_count += family.people.len();
        twins += family.relationships.iter().filter(|r| r.kind == Kinship::Twins).count();
    }
    println!("{person_count} people in {family_count} families, {twins} twin pairs: {:.2?}", started.elapsed());

    for agency in mash_synth::AGENCIES {
        let started = Instant::now();
        let mut writer = match &directory {
            Some(directory) => Some(JsonLines::new(File::create(directory.join(format!("{agency}.jsonl")))?)),
            None => None,
        };
        let (mut count, mut no_identifier) = (0, 0);
        let mut noise: BTreeMap<&str, usize> = BTreeMap::new();
        for record in records(&settings, agency)? {
            count += 1;
            no_identifier += usize::from(record.subject.nhs_number.is_none() && record.subject.upn.is_none());
            for kind in record.noise.iter() {
                *noise.entry(NoiseKind::as_str(kind)).or_default() += 1;
            }
            if let Some(writer) = &mut writer {
                writer.write(&record)?;
            }
        }
        if let Some(writer) = writer {
            writer.finish()?;
        }
        println!("{agency}: {count} records, {no_identifier} without an identifier: {:.2?}", started.elapsed());
        for (kind, hits) in noise {
            println!("  {kind}: {:.2}%", 100.0 * hits as f64 / count as f64);
        }
    }
    Ok(())
}

//! `mashctl synth`: a seeded synthetic population with ground truth, written
//! as one JSONL extract per agency, ready for `mashctl push`. The same seed
//! and size always write the same files.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use mash_synth::{Settings, Truth, write_extract};

#[derive(Debug, Args)]
pub(crate) struct SynthArgs {
    /// People in the population.
    #[arg(long, default_value_t = 10_000)]
    people: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The directory for `<agency>.jsonl`.
    #[arg(long, default_value = "synth")]
    out: PathBuf,
    /// Also write each record's true person id and the noise applied to it,
    /// for measuring matching; `mashctl push` ignores those columns.
    #[arg(long)]
    truth: bool,
}

pub(crate) fn run(args: SynthArgs) -> anyhow::Result<()> {
    let settings = Settings::new(args.seed, args.people);
    settings.validate()?;
    std::fs::create_dir_all(&args.out)?;
    let truth = if args.truth { Truth::Include } else { Truth::Omit };
    let mut stdout = Report(std::io::stdout().lock());
    for agency in mash_synth::AGENCIES {
        let path = args.out.join(format!("{agency}.jsonl"));
        let written = write_extract(std::fs::File::create(&path)?, &settings, agency, truth)?;
        stdout.line(format_args!("{agency:<12} {written:>9} records  {}", path.display()))?;
    }
    let police = args.out.join("police.jsonl");
    stdout.line(format_args!(
        "seed {}, {} people; push with e.g. mashctl push --agency police {}",
        args.seed,
        args.people,
        police.display()
    ))
}

/// What `synth` says as it goes. The extracts are the point, so a reader
/// that stops reading (`mashctl synth | head -1`) is not an error: the files
/// are still all written, and the rest of the report is dropped.
struct Report<W: Write>(W);

impl<W: Write> Report<W> {
    fn line(&mut self, line: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
        match writeln!(self.0, "{line}") {
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            result => Ok(result?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of a synthetic population goes through the real feeds'
    /// push, with each agency system's certificate, without one rejection.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_synthetic_population_pushes_into_the_feeds_without_rejections() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let out = dir.path().join("synth");
        run(SynthArgs { people: 400, seed: 7, out: out.clone(), truth: false })?;
        let system = mash_system::System::start(mash_system::SystemConfig::new(&dir.path().join("system"))).await?;
        for agency in mash_synth::AGENCIES {
            let rows = crate::extract::read(&out.join(format!("{agency}.jsonl")))?;
            let records: Vec<_> = rows.iter().map(|row| crate::extract::record(agency.as_str(), row)).collect();
            let mut feed = system.feed_ingest_as(agency, &format!("agency-{agency}")).await?;
            let summary = feed.push(tokio_stream::iter(records)).await?.into_inner();
            let first = summary.rejected.first().map(|r| format!("{}: {}", r.field, r.reason));
            assert!(summary.rejected.is_empty(), "{agency}: {} rejected, e.g. {first:?}", summary.rejected.len());
            assert_eq!(summary.stored, rows.len() as u64, "{agency}");
            assert!(summary.stored > 0, "{agency} holds someone");
        }
        system.stop().await;
        Ok(())
    }
}

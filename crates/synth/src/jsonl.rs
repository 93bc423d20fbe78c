//! JSON lines, one value per line, as `mashctl push` reads them.

use std::io::{BufWriter, Write};

use mash_domain::Agency;
use serde::Serialize;

use crate::{Settings, SynthError, records};

/// A buffered JSON-lines writer.
pub struct JsonLines<W: Write> {
    out: BufWriter<W>,
    lines: u64,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W) -> Self {
        Self { out: BufWriter::with_capacity(1 << 16, out), lines: 0 }
    }

    pub fn write(&mut self, value: &impl Serialize) -> Result<(), SynthError> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")?;
        self.lines += 1;
        Ok(())
    }

    /// Flushes, and returns how many lines were written.
    pub fn finish(mut self) -> Result<u64, SynthError> {
        self.out.flush()?;
        Ok(self.lines)
    }
}

/// Whether the ground-truth columns go into the extract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Truth {
    /// Only the columns a feed takes.
    Omit,
    /// Also `truth_person_id` and `truth_noise`, which `mashctl push` ignores.
    Include,
}

/// Writes `agency`'s whole view as an extract; returns the number of records.
pub fn write_extract(out: impl Write, settings: &Settings, agency: Agency, truth: Truth) -> Result<u64, SynthError> {
    let mut lines = JsonLines::new(out);
    for record in records(settings, agency)? {
        match truth {
            Truth::Omit => lines.write(&record.push_row())?,
            Truth::Include => lines.write(&record)?,
        }
    }
    lines.finish()
}

//! The memory budget: how many bytes one large step may take — a population's loaded (or
//! generated) rows, one codec's fit, the codes of a population — checked from the shapes and
//! each codec's declared fit bytes ([`CodecSpec::fit_bytes`]) *before* anything is allocated.
//! A too-large input then stops with a clear error (exit 2) that names what needed how much,
//! instead of an allocation abort, a capacity-overflow panic or a machine that swaps for hours.
//!
//! The decision depends only on the declared numbers and the budget, never on how much memory
//! happens to be free, so the same command on the same machine always decides the same way.
//! The default budget is [`DEFAULT_PERCENT`]% of the machine's memory: `MemTotal` from
//! `/proc/meminfo`, or the cgroup limit when that is lower, or [`FALLBACK_MEMORY`] when neither
//! can be read. Every size is computed in saturating arithmetic, so a product that overflows
//! (`n × d` of a synthetic spec, `d²` of a rotation) is refused like any other too-large one;
//! even `--memory-budget none` keeps the limit of what one allocation can address.
//!
//! The budget bounds each step on its own: cells that run concurrently (one per worker thread)
//! may each take up to it.

use crate::codec::{Codec, CodecSpec};
use crate::data::Rows;
use crate::error::{Error, Result};
use std::fmt;
use std::sync::OnceLock;

/// Percentage of the machine's memory the default budget allows.
pub const DEFAULT_PERCENT: u8 = 50;

/// Memory assumed when neither `/proc/meminfo` nor a cgroup limit can be read: 8 GiB.
pub const FALLBACK_MEMORY: u64 = 8 << 30;

/// What to do about a population sample over the budget.
const ROWS_HINT: &str = "take fewer rows (--max-rows, n=) or dims, or raise --memory-budget";

/// The most one allocation can take (`isize::MAX` bytes): the limit of `--memory-budget none`.
pub const MAX_ALLOCATION: u64 = isize::MAX as u64;

/// Where the machine's memory figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemorySource {
    /// `MemTotal` of `/proc/meminfo`.
    MemTotal,
    /// The cgroup's memory limit (`/sys/fs/cgroup/memory.max`, or cgroup v1's
    /// `memory.limit_in_bytes`), lower than `MemTotal`.
    Cgroup,
    /// Neither could be read: [`FALLBACK_MEMORY`].
    Fallback,
}

/// The machine's memory as the budget sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineMemory {
    /// Bytes.
    pub bytes: u64,
    /// Where the figure came from.
    pub source: MemorySource,
}

impl MachineMemory {
    /// The machine's memory, read once per process: the lower of `MemTotal` and the cgroup
    /// limit, or [`FALLBACK_MEMORY`].
    pub fn detect() -> MachineMemory {
        static DETECTED: OnceLock<MachineMemory> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            let read = |path: &str| std::fs::read_to_string(path).ok();
            MachineMemory::from_texts(
                read("/proc/meminfo").as_deref(),
                read("/sys/fs/cgroup/memory.max")
                    .or_else(|| read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
                    .as_deref(),
            )
        })
    }

    /// The figure from the text of `/proc/meminfo` and of a cgroup limit file (`max`, or a
    /// number of bytes; cgroup v1 writes a huge number for "no limit").
    pub fn from_texts(meminfo: Option<&str>, cgroup: Option<&str>) -> MachineMemory {
        let total = meminfo.and_then(|t| {
            t.lines().find_map(|line| {
                let rest = line.strip_prefix("MemTotal:")?;
                let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
                Some(kib.saturating_mul(1024))
            })
        });
        let limit = cgroup
            .and_then(|t| t.trim().parse::<u64>().ok())
            .filter(|&b| b > 0 && b < 1 << 60);
        match (total, limit) {
            (Some(t), Some(l)) if l < t => MachineMemory {
                bytes: l,
                source: MemorySource::Cgroup,
            },
            (Some(t), _) if t > 0 => MachineMemory {
                bytes: t,
                source: MemorySource::MemTotal,
            },
            (_, Some(l)) => MachineMemory {
                bytes: l,
                source: MemorySource::Cgroup,
            },
            (Some(_) | None, None) => MachineMemory {
                bytes: FALLBACK_MEMORY,
                source: MemorySource::Fallback,
            },
        }
    }
}

impl fmt::Display for MachineMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let size = size_text(self.bytes);
        match self.source {
            MemorySource::MemTotal => write!(f, "{size} MemTotal"),
            MemorySource::Cgroup => write!(f, "the {size} cgroup memory limit"),
            MemorySource::Fallback => write!(f, "{size} assumed (memory size unreadable)"),
        }
    }
}

/// How the budget was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A size given with `--memory-budget`.
    Given,
    /// A percentage of the machine's memory (`--memory-budget N%`, or the default).
    Share { percent: u8, of: MachineMemory },
    /// `--memory-budget none`.
    Unlimited,
}

/// The most bytes one large step may take (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    limit: u64,
    origin: Origin,
}

impl Default for MemoryBudget {
    /// [`DEFAULT_PERCENT`]% of the machine's memory.
    fn default() -> Self {
        MemoryBudget::share(DEFAULT_PERCENT)
    }
}

impl MemoryBudget {
    /// A budget of `bytes` (at most [`MAX_ALLOCATION`]).
    pub fn bytes(bytes: u64) -> Self {
        MemoryBudget {
            limit: bytes.min(MAX_ALLOCATION),
            origin: Origin::Given,
        }
    }

    /// `percent`% (1..=100, clamped) of the machine's memory ([`MachineMemory::detect`]).
    pub fn share(percent: u8) -> Self {
        Self::share_of(percent, MachineMemory::detect())
    }

    /// `percent`% (1..=100, clamped) of `memory`.
    pub fn share_of(percent: u8, memory: MachineMemory) -> Self {
        let percent = percent.clamp(1, 100);
        MemoryBudget {
            limit: (memory.bytes / 100)
                .saturating_mul(percent as u64)
                .min(MAX_ALLOCATION),
            origin: Origin::Share {
                percent,
                of: memory,
            },
        }
    }

    /// No budget but what one allocation can address ([`MAX_ALLOCATION`]).
    pub fn unlimited() -> Self {
        MemoryBudget {
            limit: MAX_ALLOCATION,
            origin: Origin::Unlimited,
        }
    }

    /// The limit in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether `bytes` fit.
    pub fn allows(&self, bytes: u64) -> bool {
        bytes <= self.limit
    }

    /// Refuse to fit `spec` on `train_rows` rows of `dim` values when its declared fit bytes
    /// exceed the budget; the error suggests the same codec with a Hadamard rotation where that
    /// fits.
    pub fn check_fit(&self, spec: &CodecSpec, train_rows: usize, dim: usize) -> Result<()> {
        let needed = spec.fit_bytes(train_rows, dim);
        if self.allows(needed) {
            return Ok(());
        }
        Err(Error::FitOverBudget {
            codec: spec.to_string(),
            rows: train_rows,
            dim,
            needed,
            budget: *self,
            hint: self.fit_hint(spec, train_rows, dim),
        })
    }

    /// What to try instead of a fit that does not fit.
    fn fit_hint(&self, spec: &CodecSpec, train_rows: usize, dim: usize) -> String {
        let text = spec.to_string();
        let structured = text
            .contains("rot=haar")
            .then(|| text.replace("rot=haar", "rot=fht-kac"))
            .and_then(|t| t.parse::<CodecSpec>().ok());
        let mut hint = String::new();
        if let Some(alt) = structured {
            let needed = alt.fit_bytes(train_rows, dim);
            if self.allows(needed) {
                return format!(
                    "a structured rotation fits: '{alt}' (FHT–Kac, O(d) state, O(d log d) per row) \
                     needs {}; or raise --memory-budget",
                    size_text(needed)
                );
            }
            hint = format!(
                "with rot=fht-kac it would still need {}; ",
                size_text(needed)
            );
        }
        hint.push_str(
            "try a smaller setting (`codecbench list codecs`), fewer dims or training rows \
             (--max-rows), or raise --memory-budget",
        );
        hint
    }

    /// Refuse a population sample of `rows` rows × `dim` values that needs `needed` bytes
    /// (saturating: see [`MemoryBudget::rows_bytes`]) when that exceeds the budget.
    pub fn check_rows(&self, population: &str, rows: usize, dim: usize, needed: u64) -> Result<()> {
        self.check_rows_with(population, rows, dim, needed, ROWS_HINT)
    }

    /// [`MemoryBudget::check_rows`] with the error's hint (which flags take fewer rows).
    pub fn check_rows_with(
        &self,
        population: &str,
        rows: usize,
        dim: usize,
        needed: u64,
        hint: &'static str,
    ) -> Result<()> {
        if self.allows(needed) {
            return Ok(());
        }
        Err(Error::RowsOverBudget {
            population: population.to_string(),
            rows,
            dim,
            needed,
            budget: *self,
            hint,
        })
    }

    /// Bytes of `rows` rows × `dim` f32 values, saturating.
    pub fn rows_bytes(rows: usize, dim: usize) -> u64 {
        (rows as u64).saturating_mul(dim as u64).saturating_mul(4)
    }

    /// Refuse the codes of `rows` rows at `code_bytes` bytes each when they exceed the budget.
    pub fn check_codes(&self, codec: &dyn Codec, rows: usize) -> Result<()> {
        let needed = (rows as u64).saturating_mul(codec.code_bytes() as u64);
        if self.allows(needed) {
            return Ok(());
        }
        Err(Error::CodesOverBudget {
            codec: codec.spec().to_string(),
            rows,
            code_bytes: codec.code_bytes(),
            needed,
            budget: *self,
        })
    }

    /// Fit `spec` on `train` (randomness from `seed`) within the budget: its declared fit bytes
    /// are checked first, and the codes of the `encodes` rows it is fitted for after (their size
    /// is known once it is fitted; nothing is encoded here).
    pub fn fit(
        &self,
        spec: &CodecSpec,
        train: &Rows,
        seed: u64,
        encodes: usize,
    ) -> Result<Box<dyn Codec>> {
        self.check_fit(spec, train.len(), train.dim())?;
        let codec = spec.fit(train, seed)?;
        self.check_codes(codec.as_ref(), encodes)?;
        Ok(codec)
    }
}

impl fmt::Display for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let size = size_text(self.limit);
        match self.origin {
            Origin::Given => write!(f, "{size} (--memory-budget)"),
            Origin::Share { percent, of } => write!(
                f,
                "{size} ({percent}% of {of}; change it with --memory-budget)"
            ),
            Origin::Unlimited => write!(
                f,
                "{size} (--memory-budget none: the most one allocation can take)"
            ),
        }
    }
}

/// A byte count for people: binary units with one decimal (`74.5 GiB`); a saturated count
/// reads as an overflow.
pub fn size_text(bytes: u64) -> String {
    if bytes == u64::MAX {
        return "more than 16 EiB (its size overflows 64 bits)".to_string();
    }
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// [`size_text`] with the exact count (`74.5 GiB (80000000000 bytes)`), for what a step needs.
pub fn size_exact(bytes: u64) -> String {
    if bytes < 1024 || bytes == u64::MAX {
        return size_text(bytes);
    }
    format!("{} ({bytes} bytes)", size_text(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_memory_takes_the_lower_of_memtotal_and_the_cgroup_limit() {
        let meminfo = "MemTotal:       24576000 kB\nMemFree:  1 kB\n";
        let total = 24_576_000u64 * 1024;
        let m = MachineMemory::from_texts(Some(meminfo), Some("max\n"));
        assert_eq!((m.bytes, m.source), (total, MemorySource::MemTotal));
        let m = MachineMemory::from_texts(Some(meminfo), Some("4294967296\n"));
        assert_eq!((m.bytes, m.source), (4 << 30, MemorySource::Cgroup));
        // cgroup v1's "no limit" is a huge number.
        let m = MachineMemory::from_texts(Some(meminfo), Some("9223372036854771712"));
        assert_eq!(m.source, MemorySource::MemTotal);
        let m = MachineMemory::from_texts(None, Some("1073741824"));
        assert_eq!((m.bytes, m.source), (1 << 30, MemorySource::Cgroup));
        let m = MachineMemory::from_texts(Some("garbage"), None);
        assert_eq!(
            (m.bytes, m.source),
            (FALLBACK_MEMORY, MemorySource::Fallback)
        );
        let half = MemoryBudget::share_of(50, MachineMemory::from_texts(Some(meminfo), None));
        assert_eq!(half.limit(), total / 100 * 50);
    }

    #[test]
    fn sizes_read_in_binary_units_and_overflow_reads_as_such() {
        assert_eq!(size_text(512), "512 bytes");
        assert_eq!(size_text(1536), "1.5 KiB");
        assert_eq!(size_exact(80_000_000_000), "74.5 GiB (80000000000 bytes)");
        assert!(size_text(u64::MAX).contains("overflows"));
        assert_eq!(MemoryBudget::bytes(u64::MAX).limit(), MAX_ALLOCATION);
    }
}

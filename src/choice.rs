//! `Choice`: an enumeration a user picks by name (a probe, a split, a policy). The library
//! declares the names and their one-line help here, next to no command-line parser; the binary's
//! argument parser offers them (`--help` lists each with its help) and parses them back, so the
//! library carries no clap types.

/// A closed set of named values.
pub trait Choice: Copy + Send + Sync + 'static {
    /// Every value, in the order help lists them.
    const ALL: &'static [Self];

    /// The name a user types.
    fn name(self) -> &'static str;

    /// One line of help.
    fn help(self) -> &'static str;

    /// The value named `name`, if any.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// Every name, comma-separated (for error messages).
    fn names() -> String {
        Self::ALL
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

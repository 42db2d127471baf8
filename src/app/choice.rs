//! Command-line values for the library's [`Choice`] enumerations: `--help` lists every name with
//! its help line, a wrong name gets clap's "invalid value … [possible values: …]" error. The
//! library declares the names; only the binary knows clap.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use codecbench::choice::Choice;

/// The value parser of a `Choice` flag.
pub fn choice<T: Choice + Clone>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(
        T::ALL
            .iter()
            .map(|c| PossibleValue::new(c.name()).help(c.help())),
    )
    // The possible-values parser has already refused every other name.
    .map(|name| T::from_name(&name).unwrap_or(T::ALL[0]))
}

//! The one integration-test binary: modules per area, shared helpers in `util`.

mod cli;
mod codec_contract;
mod embedded;
mod loaders;
mod metric;
mod model;
mod probe;
mod report;
mod resume;
mod util;

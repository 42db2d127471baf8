//! The one integration-test binary: modules per area, shared helpers in `util`.

mod cli;
mod codec_contract;
mod codec_rotation;
mod embedded;
mod fetch;
mod hostile;
mod loaders;
mod metric;
mod model;
mod probe;
mod reliability;
mod report;
mod resume;
mod robust;
mod stats_cli;
mod util;

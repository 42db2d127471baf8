//! The one integration-test binary: modules per area, shared helpers in `util`.

mod cli;
mod codec_baselines;
mod codec_contract;
mod codec_origin;
mod codec_rotation;
mod embedded;
mod fetch;
mod hostile;
mod hypothesis;
mod loaders;
mod metric;
mod model;
mod peers;
mod probe;
mod probe_chain;
mod probe_family;
mod probe_spiral;
mod reliability;
mod report;
mod resume;
mod robust;
mod speed;
mod stats_cli;
mod util;

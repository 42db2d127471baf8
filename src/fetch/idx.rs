//! Converts gzip'd IDX files (the MNIST / Fashion-MNIST format) to `.npy`, because Debian ships
//! Fashion-MNIST only as `*-ubyte.gz` and the benchmark reads `.npy`. An IDX file is a
//! big-endian header — two zero bytes, a type byte (`0x08` = unsigned byte), the number of
//! dimensions, then one `u32` per dimension — followed by the data in C order. The data is
//! streamed from the gzip decoder into the `.npy` file, so nothing is allocated from the
//! declared sizes; a short stream gives [`Error::Truncated`], extra bytes [`Error::BadHeader`].

use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::path::Path;

use flate2::read::GzDecoder;

use crate::data::npy::write_header;
use crate::error::{Error, Result};

const FORMAT: &str = "gzip'd IDX";

/// The only IDX element type this reader takes: unsigned byte.
const TYPE_U8: u8 = 0x08;

/// Most dimensions accepted (MNIST-style files have 1 or 3).
const MAX_DIMS: u8 = 8;

/// Convert the gzip'd IDX file `input` (unsigned bytes) into a `|u1` C-order `.npy` at
/// `output`. Axes after the first are flattened: `[n, 28, 28]` images become `[n, 784]`,
/// `[n]` labels stay 1-D. Returns the written shape.
pub fn gz_to_npy(input: &Path, output: &Path) -> Result<Vec<usize>> {
    let file = crate::input::open(input)?;
    let mut gz = GzDecoder::new(BufReader::with_capacity(1 << 16, file));
    let bad = |reason: String| Error::BadHeader {
        path: input.to_path_buf(),
        format: FORMAT,
        reason,
    };
    // flate2 reports a corrupt or cut gzip stream as InvalidInput / InvalidData /
    // UnexpectedEof; other errors are the file's.
    let read_err = |e: std::io::Error| {
        if matches!(
            e.kind(),
            ErrorKind::InvalidInput | ErrorKind::InvalidData | ErrorKind::UnexpectedEof
        ) {
            bad(format!("gzip stream: {e}"))
        } else {
            Error::io(input, e)
        }
    };

    let header_short = |got: usize, want: usize| {
        bad(format!(
            "the stream ends inside the header ({got} of {want} bytes)"
        ))
    };
    let mut magic = [0u8; 4];
    let got = read_full(&mut gz, &mut magic).map_err(read_err)?;
    if got < 4 {
        return Err(header_short(got, 4));
    }
    if magic[0] != 0 || magic[1] != 0 {
        return Err(bad(format!(
            "magic starts {:02x} {:02x}; an IDX file starts 00 00",
            magic[0], magic[1]
        )));
    }
    if magic[2] != TYPE_U8 {
        return Err(bad(format!(
            "element type 0x{:02x}; only unsigned byte (0x08) is supported",
            magic[2]
        )));
    }
    let ndims = magic[3];
    if ndims == 0 || ndims > MAX_DIMS {
        return Err(bad(format!("{ndims} dimensions; expected 1 to {MAX_DIMS}")));
    }
    let mut dims = Vec::with_capacity(usize::from(ndims));
    for _ in 0..ndims {
        let mut b = [0u8; 4];
        let got = read_full(&mut gz, &mut b).map_err(read_err)?;
        if got < 4 {
            return Err(header_short(
                4 + 4 * dims.len() + got,
                4 + 4 * usize::from(ndims),
            ));
        }
        dims.push(u32::from_be_bytes(b) as usize);
    }
    let total = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(|| bad(format!("dimensions {dims:?} overflow a 64-bit size")))?;
    let shape = match dims.split_first() {
        Some((&n, rest)) if !rest.is_empty() => {
            let row: usize = rest.iter().product();
            vec![n, row]
        }
        _ => dims.clone(),
    };

    let write_err = |e: std::io::Error| Error::Write {
        path: output.to_path_buf(),
        source: e,
    };
    let mut out = BufWriter::new(File::create(output).map_err(write_err)?);
    write_header(&mut out, "|u1", &shape).map_err(write_err)?;
    let mut buf = vec![0u8; 1 << 16];
    let mut copied: u64 = 0;
    while copied < total {
        let want = usize::try_from(total - copied).map_or(buf.len(), |r| r.min(buf.len()));
        let n = read_retry(&mut gz, &mut buf[..want]).map_err(read_err)?;
        if n == 0 {
            return Err(Error::Truncated {
                path: input.to_path_buf(),
                format: FORMAT,
                expected: total,
                actual: copied,
            });
        }
        out.write_all(&buf[..n]).map_err(write_err)?;
        copied += n as u64;
    }
    if read_retry(&mut gz, &mut buf[..1]).map_err(read_err)? != 0 {
        return Err(bad(format!(
            "more data after the {total} bytes the header declares"
        )));
    }
    out.flush().map_err(write_err)?;
    Ok(shape)
}

/// Fill `buf` as far as the stream allows; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = read_retry(r, &mut buf[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

fn read_retry(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

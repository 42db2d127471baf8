//! Split, truth and pair-probe checks against plain reference computations.

use crate::util::gaussian_rows;
use codecbench::codec::CodecSpec;
use codecbench::data::synthetic::{SyntheticKind, generate};
use codecbench::probe::pairs::{run_pairs, run_recon};
use codecbench::probe::{Split, SplitMode, Truth};

#[test]
fn self_pair_split_queries_are_base_rows() {
    let rows = gaussian_rows(50, 7, 1);
    let s = Split::self_pairs(&rows, 10, 3);
    assert_eq!(s.mode, SplitMode::SelfPairs);
    assert_eq!(s.base.len(), 50);
    assert_eq!(s.queries.len(), 10);
    assert_eq!(s.candidates(), 49);
    for (qi, own) in s.query_self.iter().enumerate() {
        let own = own.expect("self index");
        assert_eq!(s.queries.row(qi), s.base.row(own));
    }
    // Same seed, same split; another seed, another sample.
    assert_eq!(Split::self_pairs(&rows, 10, 3).query_self, s.query_self);
    assert_ne!(Split::self_pairs(&rows, 10, 4).query_self, s.query_self);
}

#[test]
fn held_out_queries_are_disjoint_from_base() {
    let rows = gaussian_rows(31, 5, 2);
    let s = Split::held_out(&rows, 100, 3);
    assert_eq!(s.queries.len(), 15, "at most half the rows become queries");
    assert_eq!(s.base.len() + s.queries.len(), 31);
    for q in s.queries.iter() {
        assert!(s.base.iter().all(|b| b != q));
    }
    assert_eq!(s.train, s.base);
}

#[test]
fn truth_matches_a_naive_f64_loop() {
    let rows = gaussian_rows(40, 65, 5);
    let s = Split::held_out(&rows, 8, 1);
    let t = Truth::compute(&s);
    for qi in 0..s.queries.len() {
        for bi in 0..s.base.len() {
            let mut acc = 0f64;
            for j in 0..65 {
                acc += s.queries.row(qi)[j] as f64 * s.base.row(bi)[j] as f64;
            }
            assert_eq!(t.row(qi)[bi], acc);
        }
    }
}

#[test]
fn exact_codec_reproduces_truth_and_has_zero_recon_error() {
    let rows = generate(SyntheticKind::Clustered, 120, 33, 9);
    let s = Split::self_pairs(&rows, 12, 2);
    let t = Truth::compute(&s);
    let codec = CodecSpec::Exact.fit(&s.train, 0).unwrap();
    let codes = codec.encode_all(&s.base);
    let out = run_pairs(codec.as_ref(), &s, &codes).unwrap();
    assert_eq!(out.asym, t.scores);
    assert_eq!(out.sym.as_ref().unwrap(), &t.scores);
    let r = run_recon(codec.as_ref(), &s, &codes).unwrap().unwrap();
    assert!(r.err.iter().all(|&e| e == 0.0));
}

#[test]
fn symmetric_self_pairs_use_the_query_rows_own_code() {
    let rows = gaussian_rows(60, 16, 4);
    let s = Split::self_pairs(&rows, 5, 1);
    let codec = CodecSpec::Int8.fit(&s.train, 0).unwrap();
    let codes = codec.encode_all(&s.base);
    let out = run_pairs(codec.as_ref(), &s, &codes).unwrap();
    let sym = out.sym.unwrap();
    for (qi, own) in s.query_self.iter().enumerate() {
        let own = own.unwrap();
        for b in 0..s.base.len() {
            let want = codec.pair(codes.get(own), codes.get(b)).unwrap();
            assert_eq!(sym[qi * s.base.len() + b], want);
        }
    }
}
